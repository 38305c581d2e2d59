"""Aggregates runs (medians over repeats), computes the ratios and renders BENCHMARKS.md's results."""
import re

import extras as X
from common import median

BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
METRICS = ["rps", "rows_per_s", "p50_ms", "p90_ms", "p99_ms", "cpu_s_per_1k", "cpu_cores", "peak_rss_mib",
           "resp_bytes_per_req"]
TARGETS = {"mlserver": 30.0, "fastapi": 4.0, "floor-http": 0.6, "batch": 1.5, "logging": 0.10, "idle_rss": 50.0}


def aggregate(runs):
    """runs: list of dicts with server, workload, conc + metrics -> {(server, workload, conc): medians}."""
    cells = {}
    for r in runs:
        cells.setdefault((r["server"], r["workload"], r["conc"]), []).append(r)
    out = {}
    for key, rs in cells.items():
        agg = {m: median([r[m] for r in rs]) for m in METRICS}
        # Lowest per-run peak: later repeats carry heap that earlier, bigger batches left behind.
        agg["peak_rss_mib"] = min(r["peak_rss_mib"] for r in rs)
        agg["repeats"] = len(rs)
        agg["non2xx"] = sum(r["non2xx"] for r in rs)
        agg["errors"] = sum(r["errors"] for r in rs)
        agg["requests"] = sum(r["requests"] for r in rs)
        agg["rps_by_repeat"] = {r.get("repeat", i): r["rps"] for i, r in enumerate(rs)}
        if all("log_shed" in r for r in rs):
            agg["log_appended"] = sum(r["log_appended"] for r in rs)
            agg["log_shed"] = sum(r["log_shed"] for r in rs)
        out[key] = agg
    return out


def logging_cost(on, off):
    """1 - on/off as the median over repeats of on and off measured back to back (the harness
    runs them adjacently), with the per-repeat costs as text; from the medians when unpaired."""
    reps = sorted(set(on.get("rps_by_repeat", {})) & set(off.get("rps_by_repeat", {})))
    costs = [1 - on["rps_by_repeat"][r] / off["rps_by_repeat"][r] for r in reps if off["rps_by_repeat"][r]]
    if not costs:
        return 1 - on["rps"] / off["rps"], ""
    each = ", ".join(f"{c * 100:.1f}%" for c in costs)
    return median(costs), f"; paired runs, back to back: {each}"


def shed_text(a):
    """How many of a cell's rows the log store shed (its writer fell behind), if it reported."""
    if not a or "log_shed" not in a:
        return ""
    total = a["log_appended"] + a["log_shed"]
    if not total:
        return ""
    return f"; the log store took {a['log_appended']:,} rows and shed {a['log_shed']:,} ({a['log_shed'] / total * 100:.1f}%)"


def _f(x, nd=0, unit=""):
    if x is None:
        return "–"
    if isinstance(x, float) and nd == 0 and abs(x) >= 100:
        return f"{x:,.0f}{unit}"
    if abs(x) >= 1e6 and nd == 0:
        return f"{x / 1e6:.2f}M{unit}"
    return f"{x:,.{nd}f}{unit}" if nd else f"{x:,.0f}{unit}"


def _ms(x):
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _kb(b):
    return "–" if b is None else f"{b / 1024:.1f}" if b < 102400 else f"{b / 1024:,.0f}"


def _ratio(a, b):
    return a / b if a is not None and b else None


def _x(r):
    return "–" if r is None else f"{r:.2f}×" if r < 10 else f"{r:.1f}×"


def results_table(agg, servers_order, workloads):
    lines = ["| workload | server | conc | req/s | rows/s | p50 ms | p90 ms | p99 ms | CPU s / 1k req | CPU cores "
             "| peak RSS MiB | resp KB | non-2xx / socket errors | Joey ÷ this, req/s | this p50 ÷ Joey p50 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for w in workloads:
        concs = sorted({c for cs in w.conc.values() for c in cs})
        for c in concs:
            joey = agg.get(("joey", w.name, c))
            for s in servers_order:
                a = agg.get((s, w.name, c))
                if a is None:
                    continue
                name = f"**{s}**" if s == "joey" else s
                jr = "" if s == "joey" else _x(_ratio(joey and joey["rps"], a["rps"]))
                lr = "" if s == "joey" else _x(_ratio(a["p50_ms"], joey and joey["p50_ms"]))
                lines.append(f"| {w.name} | {name} | {c} | {_f(a['rps'])} | {_f(a['rows_per_s'])} | {_ms(a['p50_ms'])} "
                             f"| {_ms(a['p90_ms'])} | {_ms(a['p99_ms'])} | {_f(a['cpu_s_per_1k'], 3)} "
                             f"| {_f(a['cpu_cores'], 2)} | {_f(a['peak_rss_mib'])} | {_kb(a['resp_bytes_per_req'])} | {a['non2xx']} / {a['errors'] - a['non2xx']} | {jr} | {lr} |")
    return "\n".join(lines)


def floor_key(w):
    return f"{w.model}-{w.rows}"


def compute_table(floors, agg, workloads):
    lines = ["| batch | impl | rows/call | p50 µs | p99 µs | rows/s | Joey c=1 p50 ÷ this p50 (workload) |",
             "|---|---|---|---|---|---|---|"]
    for key, by_impl in floors.items():
        for impl, f in by_impl.items():
            rel = []
            for w in workloads:
                j = agg.get(("joey", w.name, 1))
                if floor_key(w) == key and j:
                    rel.append(f"{_x(_ratio(j['p50_ms'] * 1e3, f['p50_us']))} ({w.name})")
            lines.append(f"| {key} | {impl} | {f['rows_per_call']} | {f['p50_us']:,.1f} | {f['p99_us']:,.1f} "
                         f"| {_f(f['rows_per_s'])} | {', '.join(rel) or '–'} |")
    return "\n".join(lines)


def startup_table(infos, agg):
    lines = ["| server | start → ready (s) | idle RSS after start (MiB) | idle RSS, models loaded (MiB) "
             "| peak RSS, whole run (MiB) | deploy → Running (s) |", "|---|---|---|---|---|---|"]
    for name, i in infos.items():
        dep = ", ".join(f"{k} {v:.2f}" for k, v in i.get("deploy_to_running_s", {}).items()) or "–"
        lines.append(f"| {name} | {_f(i.get('start_to_ready_s'), 2)} | {_f(i.get('idle_rss_after_start_mib'), 1)} "
                     f"| {_f(i.get('idle_rss_with_models_mib'), 1)} | {_f(i.get('peak_rss_mib'), 1)} | {dep} |")
    return "\n".join(lines)


def verdicts(agg, floors, infos, workloads, logging_flag_known):
    """The 'where Joey is behind' list: (ok, text) per target from the medians; ok None = not measurable."""
    out = []

    def rps(s, w, c):
        a = agg.get((s, w, c))
        return a and a["rps"]

    for c in (1, 32):
        j = rps("joey", "ccfraud-1", c)
        for peer, key in (("mlserver", "mlserver"), ("fastapi-1w", "fastapi"), ("fastapi-2w", "fastapi"),
                          ("floor-http", "floor-http")):
            p = rps(peer, "ccfraud-1", c)
            r = _ratio(j, p)
            if r is None:
                continue
            goal = TARGETS[key]
            if peer == "floor-http":
                text = f"{r * 100:.0f}% of the HTTP floor ({p:,.0f}); target ≥ {goal * 100:.0f}%"
            else:
                text = f"{r:.2f}× {peer} ({p:,.0f}); target ≥ {goal:g}×"
            out.append((r >= goal, f"ccfraud-1, c={c}: Joey {j:,.0f} req/s = {text}"))
    for w in workloads:
        j = agg.get(("joey", w.name, 1))
        f = floors.get(floor_key(w), {}).get("rust-ort")
        if w.rows > 1 and j and f:
            r = j["p50_ms"] * 1e3 / f["p50_us"]
            t = agg.get(("floor-http", w.name, 1))
            transfer = "" if not t else (
                f". Moving the same bytes through the HTTP floor (request in, as many bytes out as Joey answers) "
                f"takes p50 {t['p50_ms']:.2f} ms: Joey = {j['p50_ms'] / (t['p50_ms'] + f['p50_us'] / 1e3):.1f}× "
                f"transfer + compute floor")
            out.append((r <= TARGETS["batch"], f"{w.name}, c=1: Joey p50 {j['p50_ms']:.2f} ms = {r:.1f}× the Rust "
                                               f"compute floor for the same batch ({f['p50_us'] / 1e3:.2f} ms); "
                                               f"target ≤ 1.5×{transfer}"))
    for w in workloads:
        for c in sorted({c for cs in w.conc.values() for c in cs}):
            on, off = rps("joey", w.name, c), rps("joey-nolog", w.name, c)
            if on and off:
                cost, pairs = logging_cost(agg.get(("joey", w.name, c)), agg.get(("joey-nolog", w.name, c)))
                text = (f"{w.name}, c={c}: inference logging costs {cost * 100:.1f}% of req/s (median on {on:,.0f}, "
                        f"off {off:,.0f}{pairs}); target ≤ 10%{shed_text(agg.get(('joey', w.name, c)))}")
                if not logging_flag_known:
                    out.append((None, text + ". Not measurable: this build ignores JOEY_INFERENCE_LOGGING, so both "
                                             "rows ran the same configuration and the gap is run-to-run noise"))
                else:
                    out.append((cost <= TARGETS["logging"], text))
    j = infos.get("joey", {}).get("idle_rss_after_start_mib")
    if j is not None:
        out.append((j < TARGETS["idle_rss"], f"Joey idle RSS after start {j:.1f} MiB; target < 50 MiB"))
    # Beyond the targets: any cell where a peer serves more requests/s than Joey, and memory.
    for (s, wname, c), a in sorted(agg.items()):
        j = agg.get(("joey", wname, c))
        if s in ("joey", "joey-nolog", "floor-http") or not j or not a["rps"] or a["rps"] <= j["rps"]:
            continue
        out.append((False, f"{wname}, c={c}: {s} serves more than Joey: {a['rps']:,.0f} vs {j['rps']:,.0f} req/s "
                           f"(Joey {j['rps'] / a['rps']:.2f}×; Joey answers {j['resp_bytes_per_req'] / 1024:,.0f} KB, "
                           f"{s} {a['resp_bytes_per_req'] / 1024:,.0f} KB per request)"))
    peaks = {n: i.get("peak_rss_mib") for n, i in infos.items() if i.get("peak_rss_mib") and not n.startswith(("joey", "floor"))}
    jp = infos.get("joey", {}).get("peak_rss_mib")
    if jp and peaks and jp > max(peaks.values()):
        top = max(peaks, key=peaks.get)
        out.append((False, f"Joey's peak RSS over the whole run, {jp:,.0f} MiB, is above every peer's (highest: {top} "
                           f"{peaks[top]:,.0f} MiB); joey-nolog peaked at "
                           f"{infos.get('joey-nolog', {}).get('peak_rss_mib') or 0:,.0f} MiB"))
    return out


def render(meta, agg, floors, infos, workloads, servers_order, notes, logging_flag_known, extras=None):
    smoke = meta["duration_s"] < 10 or meta["repeats"] < 3
    v = verdicts(agg, floors, infos, workloads, logging_flag_known) + X.verdicts(extras or {})
    behind = [t for ok, t in v if ok is False]
    met = [t for ok, t in v if ok]
    unknown = [t for ok, t in v if ok is None]
    title = "Smoke run (NOT a measurement)" if smoke else "Results"
    parts = [BEGIN, f"## {title}: {meta['date']}", ""]
    if smoke:
        parts += [f"> **Smoke run**: `BENCH_DURATION={meta['duration_s']} BENCH_REPEATS={meta['repeats']}`, on a "
                  "2-core machine shared with other builds. It shows the harness works end to end; the figures are "
                  "noisy and must not be quoted. Re-run with the defaults on an idle machine for real numbers.", ""]
    parts += [f"* Command: `{meta['command']}`",
              f"* Machine: {meta['machine']}",
              f"* Per run: {meta['duration_s']} s of wrk after a {meta['warmup_s']} s warm-up, {meta['repeats']} repeat(s), "
              f"median quoted; servers interleaved within each repeat. Total harness time {meta['elapsed_s'] / 60:.1f} min.",
              f"* Versions: {meta['versions']}", ""]
    if notes:
        parts += ["Notes from this run:", ""] + [f"* {n}" for n in notes] + [""]
    parts += ["### Where Joey is behind", ""]
    parts += [f"* ❌ {t}" for t in behind] or ["* Nothing: every target below was met in this run."]
    parts += ["", "Targets met:", ""] + ([f"* ✅ {t}" for t in met] or ["* none"])
    if unknown:
        parts += ["", "Not measurable in this run:", ""] + [f"* ⚠️ {t}" for t in unknown]
    parts += ["", "### HTTP serving (server × workload × concurrency)", "",
              "Bodies: Joey, FastAPI and the HTTP floor get the same pandas-records JSON (`[{\"tensor\": [...]}]`) or, "
              "for `*-arrow`, Arrow IPC in and out; MLServer gets the V2 body it needs for the same rows "
              "(`{\"inputs\":[{\"name\",\"shape\",\"datatype\":\"FP32\",\"data\"}]}`). Joey also verifies a bearer token "
              "on every request; the peers have no auth. CPU is the server's own (all its processes); peak RSS is "
              "VmHWM summed over its processes during the run (reset just before it), the lowest of the repeats, "
              "because later repeats carry heap left behind by earlier, bigger batches. Rows are listed single-row "
              "workloads first; that is also the order they run in.", "",
              results_table(agg, servers_order, workloads), "",
              "### Compute floor (in-process ONNX Runtime, no HTTP, 1 intra-op thread like Joey's default)", "",
              compute_table(floors, agg, workloads), "",
              *X.render(extras or {}),
              "### Start-up and memory", "", startup_table(infos, agg), "", END]
    return "\n".join(parts)


def write_markdown(path, section):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)
