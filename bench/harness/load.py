"""Drives one server with wrk (Debian's wrk 4.1.0 + bench/lua/post.lua) and samples /proc around it."""
import json
import os
import subprocess

from common import BENCH, CLK_TCK, WRK_THREADS, cpu_ticks, hwm_mib, reset_hwm, tree

LUA = os.path.join(BENCH, "lua", "post.lua")


def wrk_version():
    r = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    first = ((r.stdout + r.stderr).splitlines() or ["?"])[0].split()
    return "wrk " + (first[1].split("/")[-1] if len(first) > 1 else "?")


def run_wrk(url, body_file, content_type, conc, seconds, accept="", auth="", timeout_s=30):
    env = dict(os.environ, BENCH_BODY_FILE=body_file, BENCH_CONTENT_TYPE=content_type,
               BENCH_ACCEPT=accept, BENCH_AUTH=auth)
    threads = max(1, min(WRK_THREADS, conc))
    cmd = ["wrk", f"-t{threads}", f"-c{conc}", f"-d{seconds}s", f"--timeout={timeout_s}s", "-s", LUA, url]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + timeout_s + 30)
    for line in r.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
    raise RuntimeError(f"wrk gave no summary (rc {r.returncode}): {r.stdout[-400:]} {r.stderr[-400:]}")


def measure(pid, url, body_file, content_type, conc, seconds, rows, accept="", auth=""):
    """One timed run: wrk figures plus the server's CPU seconds and peak RSS during the run."""
    reset_hwm(pid)
    pids_before = tree(pid)
    t0 = cpu_ticks(pids_before)
    w = run_wrk(url, body_file, content_type, conc, seconds, accept, auth)
    pids_after = sorted(set(pids_before) | set(tree(pid)))
    cpu = (cpu_ticks(pids_after) - t0) / CLK_TCK
    secs = w["duration_us"] / 1e6
    n = w["requests"]
    errors = w["non2xx"] + w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
    return {
        "conc": conc, "requests": n, "seconds": secs,
        "rps": n / secs if secs else 0.0, "rows_per_s": n * rows / secs if secs else 0.0,
        "p50_ms": w["p50_us"] / 1e3, "p90_ms": w["p90_us"] / 1e3, "p99_ms": w["p99_us"] / 1e3,
        "mean_ms": w["mean_us"] / 1e3, "max_ms": w["max_us"] / 1e3,
        "cpu_s": cpu, "cpu_s_per_1k": cpu / n * 1000 if n else None, "cpu_cores": cpu / secs if secs else None,
        "peak_rss_mib": hwm_mib(pid), "non2xx": w["non2xx"], "errors": errors,
        "socket_errors": {k: w[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")},
        "resp_bytes_per_req": w["bytes"] / n if n else 0,
    }
