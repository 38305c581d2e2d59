"""Two measurements beside the wrk matrix:

* p99 latency at half the peak rate: `rate-load` (bench/floor, open loop: each request has an
  intended send time and its latency counts from then, so a stalled server cannot hide queueing the
  way a closed-loop tool like wrk does) drives single-row ccfraud at half of the server's own
  c=32 median req/s from the matrix, over 32 connections.
* the log store's own figures: `cargo run --release -p joey-logstore --example logstore_bench`
  (append rate of ~112-byte records, reading the newest 100 and a 1000-row time range of a topic
  of 1 and 10 million records).
"""
import json
import os
import subprocess
import tempfile

from common import BENCH, REPO, log

RATE_LOAD = os.path.join(BENCH, "floor", "target", "release", "rate-load")
LOGSTORE_BENCH = os.path.join(REPO, "target", "release", "examples", "logstore_bench")
HALF_PEAK_SERVERS = ("joey", "joey-batch", "fastapi-2w", "floor-http")
LOGSTORE_SIZES = (1_000_000, 10_000_000)
# The row that drives floor-http at half of Joey's peak (main.run_extras).
FLOOR_AT_JOEY = "floor-http at Joey's rate"
# Fractions of Joey's c=32 peak at which its latency is also measured (besides one half).
SWEEP = (0.1, 0.2, 0.3, 0.4)
DURATION_NOTE = "each as long as the half-peak run, after its own 2 s warm-up"
TARGETS = {"p99_ms": 2.0, "append_per_s": 1_000_000, "newest_ms": 50.0}


def half_peak(name, url, body, ct, accept, auth, peak_rps, seconds, fraction=0.5):
    """rate-load at `fraction` (half) of `peak_rps`; its JSON summary plus the server and the rate asked."""
    rate = max(1, round(peak_rps * fraction))
    cmd = [RATE_LOAD, "--url", url, "--rate", str(rate), "--duration", str(seconds), "--connections", "32",
           "--body-file", body, "--content-type", ct, "--warmup", "2"]
    if auth:
        cmd += ["--header", f"Authorization: {auth}"]
    if accept:
        cmd += ["--header", f"Accept: {accept}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    lines = r.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"rate-load gave no summary (rc {r.returncode}): {r.stderr[-400:]}")
    out = json.loads(lines[-1])
    out.update(server=name, peak_rps=peak_rps, fraction=fraction)
    log(f"{fraction:.0%} of peak {name}: {out['rate_achieved']:,.0f} of {rate:,} req/s, p50 {out['p50_ms']} ms, "
        f"p99 {out['p99_ms']} ms, errors {out['errors']}")
    return out


def logstore():
    """The logstore_bench figures for each size in LOGSTORE_SIZES (append figures from the last)."""
    if not os.path.exists(LOGSTORE_BENCH):
        raise RuntimeError(f"{LOGSTORE_BENCH} is missing; bench/run.sh builds it")
    figures = []
    for rows in LOGSTORE_SIZES:
        with tempfile.TemporaryDirectory(prefix="joey-logstore-bench-") as d:
            env = dict(os.environ, JOEY_LOGSTORE_BENCH_DIR=d)
            r = subprocess.run([LOGSTORE_BENCH, str(rows)], capture_output=True, text=True, env=env, timeout=900)
            if r.returncode != 0:
                raise RuntimeError(f"logstore_bench {rows} failed: {r.stderr[-600:]}")
            for line in r.stdout.splitlines():
                v = json.loads(line)
                if v["bench"] == "append_rate" and rows != LOGSTORE_SIZES[-1]:
                    continue
                v["topic_rows"] = rows
                figures.append(v)
        log(f"log store bench with {rows:,} rows done")
    return figures


def verdicts(extras):
    out = []
    hp = extras.get("half_peak", [])
    floor = next((h for h in hp if h["server"] == FLOOR_AT_JOEY), None)
    for h in hp:
        if h["server"] != "joey":
            continue
        machine = f" (floor-http at the same rate: p99 {floor['p99_ms']} ms)" if floor else ""
        out.append((h["p99_ms"] is not None and h["p99_ms"] < TARGETS["p99_ms"] and not h["errors"],
                    f"ccfraud-1 at half Joey's c=32 peak ({h['rate_target']:,} req/s, open loop): p99 "
                    f"{h['p99_ms']} ms; target < 2 ms{machine}"))
    for v in extras.get("logstore", []):
        if v["bench"] == "append_rate" and v["batch_rows"] == 1:
            out.append((v["records_per_s"] >= TARGETS["append_per_s"],
                        f"log store: {v['records_per_s']:,.0f} records/s appended one record at a time (~112-byte "
                        f"records, durable after flush); Plateau's claim 1,000,000/s per node"))
        if v["bench"] == "read_newest_100" and v["topic_rows"] == LOGSTORE_SIZES[-1] and "after_reopen" not in v:
            out.append((v["max_ms"] < TARGETS["newest_ms"],
                        f"log store: newest 100 of {v['rows_in_topic']:,} records in {v['median_ms']:.2f} ms median, "
                        f"{v['max_ms']:.2f} ms worst; target < 50 ms"))
    return out


def render(extras):
    parts = []
    hp = extras.get("half_peak", [])
    if hp:
        parts += ["### Latency at half the peak rate (ccfraud-1, open loop)", "",
                  "`rate-load` (bench/floor) sends at a fixed rate, half of each server's own c=32 median req/s above, "
                  "over 32 keep-alive connections, after a 2 s warm-up; latency counts from each request's intended "
                  "send time. The row `floor-http at Joey's rate` drives the floor at Joey's rate: what the generator "
                  "and the machine alone cost at that rate. `behind` is how late the generator itself fell at worst: this 2-core VM stalls "
                  "processes for a few ms now and then, which shows in p99.9 and max more than in p99 (compare the floor's row).", "",
                  "| server | its c=32 peak req/s | rate asked | rate achieved | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | behind ms | errors |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for h in hp:
            parts.append(f"| {h['server']} | {h['peak_rps']:,.0f} | {h['rate_target']:,} | {h['rate_achieved']:,.0f} | "
                         f"{h['p50_ms']} | {h['p90_ms']} | {h['p99_ms']} | {h['p999_ms']} | {h['max_ms']} | "
                         f"{h['behind_ms']} | {h['errors']} |")
        parts.append("")
    sweep = sorted(extras.get("joey_sweep", []) + [h for h in hp if h["server"] == "joey"], key=lambda h: h["fraction"])
    if len(sweep) > 1:
        met = [h for h in sweep if h["p99_ms"] is not None and h["p99_ms"] < TARGETS["p99_ms"] and not h["errors"]]
        best = f"{met[-1]['rate_target']:,} req/s ({met[-1]['fraction']:.0%} of the peak)" if met else "none of the rates swept"
        parts += ["### Joey's latency by rate (ccfraud-1, open loop)", "",
                  f"The same open-loop run at fractions of Joey's c=32 peak, {DURATION_NOTE}. The highest rate "
                  f"swept with p99 < 2 ms: {best}.", "",
                  "| fraction of peak | rate asked | rate achieved | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | behind ms | errors |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for h in sweep:
            parts.append(f"| {h['fraction']:.0%} | {h['rate_target']:,} | {h['rate_achieved']:,.0f} | {h['p50_ms']} | "
                         f"{h['p90_ms']} | {h['p99_ms']} | {h['p999_ms']} | {h['max_ms']} | {h['behind_ms']} | {h['errors']} |")
        parts.append("")
    ls = extras.get("logstore", [])
    if ls:
        parts += ["### Inference log store (embedded, in-process)", "",
                  "`cargo run --release -p joey-logstore --example logstore_bench <rows>`: records of ~112 bytes "
                  "(time + 100-byte string), appended from one thread and counted until the `flush()` that makes "
                  "them durable (fsync); reads through the same `read` the `/v1/logs` API uses.", "",
                  "| figure | topic rows | result |", "|---|---|---|"]
        for v in ls:
            parts.append(f"| {_describe(v)} | {v['topic_rows']:,} | {_result(v)} |")
        parts.append("")
    return parts


def _describe(v):
    b = v["bench"]
    if b == "read_newest_100" and v.get("after_reopen"):
        return "read the newest 100 right after reopening (first read from a fresh process state)"
    if b == "append_rate":
        return f"append, {v['batch_rows']:,} record(s) per append, {v['records']:,} records"
    return {"build_topic": "build the topic (appends of 100k)", "read_newest_100": "read the newest 100 (newest first)",
            "read_time_range_1000": "read a 1000-row page of a time range mid-topic",
            "reopen": "reopen the store (manifest + index)"}.get(b, b)


def _result(v):
    b = v["bench"]
    if b in ("append_rate", "build_topic"):
        return f"{v['records_per_s']:,.0f} records/s" + (f", {v['mb_per_s']} MB/s" if "mb_per_s" in v else "")
    if b == "reopen":
        return f"{v['ms']:.1f} ms"
    return f"median {v['median_ms']:.3f} ms, first {v['first_ms']:.3f} ms, worst {v['max_ms']:.3f} ms"
