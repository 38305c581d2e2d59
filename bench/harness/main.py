"""Benchmark orchestration: prepare data, compute floors, start servers, drive wrk, write results.

Run through bench/run.sh (which installs and builds everything first). Knobs: BENCH_DURATION,
BENCH_REPEATS, BENCH_WARMUP, BENCH_ONLY, BENCH_WRK_THREADS, BENCH_NO_MD=1 (do not touch BENCHMARKS.md).
"""
import glob
import json
import os
import platform
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import extras as X  # noqa: E402
import load  # noqa: E402
import report  # noqa: E402
import servers as S  # noqa: E402
import workloads as W  # noqa: E402
from common import (BENCH, DURATION, ONLY, OUT, REPEATS, REPO, SHARED, WARMUP, log, median)  # noqa: E402

FLOOR_COMPUTE = os.path.join(BENCH, "floor", "target", "release", "floor-compute")


def ort_lib():
    libs = glob.glob(os.path.join(REPO, ".ort", "lib", "python3*", "site-packages", "onnxruntime", "capi",
                                  "libonnxruntime.so.*"))
    if not libs:
        raise RuntimeError("libonnxruntime not found under .ort; run scripts/install-ort.sh")
    return libs[0]


def select(workloads):
    names_s = [o for o in ONLY if o in W.SERVERS]
    names_w = [o for o in ONLY if o not in W.SERVERS and o not in ("compute", "logstore")]
    unknown = [o for o in names_w if o not in {w.name for w in W.matrix()}]
    if unknown:
        raise SystemExit(f"BENCH_ONLY: unknown names {unknown}; servers {W.SERVERS} + 'compute', 'logstore', "
                         f"workloads {[w.name for w in W.matrix()]}")
    out = []
    for w in workloads:
        if names_w and w.name not in names_w:
            continue
        if names_s:
            w.conc = {s: c for s, c in w.conc.items() if s in names_s}
        if w.conc:
            out.append(w)
    run_compute = not ONLY or "compute" in ONLY or bool(names_w and not names_s)
    return out, run_compute


def compute_floors(models, workloads):
    """Per distinct (model, rows): Rust (ort) and Python (onnxruntime) in-process timings, median of repeats."""
    secs = max(1.0, DURATION / 5)
    env = dict(os.environ, ORT_DYLIB_PATH=ort_lib())
    env.pop("RUST_BACKTRACE", None)
    floors, seen = {}, set()
    for w in workloads:
        key = report.floor_key(w)
        if key in seen:
            continue
        seen.add(key)
        m = models[w.model]
        args = [m.path, w.f32, str(m.row_len), str(w.rows), "1", str(secs)]
        for impl, cmd in (("rust-ort", [FLOOR_COMPUTE]), ("python-onnxruntime", [sys.executable, os.path.join(
                BENCH, "harness", "compute_py.py")])):
            runs = []
            for _ in range(REPEATS):
                r = subprocess.run(cmd + args, capture_output=True, text=True, env=env, timeout=secs * 3 + 120)
                if r.returncode != 0:
                    raise RuntimeError(f"compute floor {impl} {key} failed: {r.stderr[-600:]}")
                runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
            agg = {k: median([x[k] for x in runs]) for k in ("p50_us", "p90_us", "p99_us", "rows_per_s", "calls_per_s",
                                                            "load_ms")}
            agg.update(rows_per_call=w.rows, runs=runs)
            floors.setdefault(key, {})[impl] = agg
            log(f"compute floor {key} {impl}: p50 {agg['p50_us']:.1f} µs, {agg['rows_per_s']:,.0f} rows/s")
    return floors


def pyver(venv, pkgs):
    py = os.path.join(BENCH, venv, "bin", "python")
    code = ("import importlib.metadata as m, json, sys\nout={}\nfor p in sys.argv[1:]:\n try: out[p]=m.version(p)\n"
            " except Exception: pass\nprint(json.dumps(out))")
    try:
        r = subprocess.run([py, "-c", code, *pkgs], capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout)
    except Exception:  # noqa: BLE001 - a missing venv just means no versions
        return {}


def lock_version(lock, name):
    try:
        text = open(lock).read()
    except OSError:
        return "?"
    i = text.find(f'name = "{name}"\n')
    return text[i:].split("\n")[1].split('"')[1] if i >= 0 else "?"


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    osr = next((line.split("=", 1)[1].strip().strip('"') for line in open("/etc/os-release")
                if line.startswith("PRETTY_NAME")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {mem / 1048576:.1f} GiB RAM, {osr}, Linux {platform.release()}"


def versions():
    def cmd(*a):
        try:
            return subprocess.run(list(a), capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"
    rev = cmd("git", "-C", REPO, "rev-parse", "--short", "HEAD")
    dirty = " (+ uncommitted changes)" if cmd("git", "-C", REPO, "status", "--porcelain", "--untracked-files=no") else ""
    fa = pyver(".venv-fastapi", ["fastapi", "uvicorn", "uvloop", "httptools", "orjson", "onnxruntime", "numpy"])
    ml = pyver(".venv-mlserver", ["mlserver", "mlserver-sklearn", "scikit-learn", "uvloop", "fastapi", "onnxruntime"])
    import onnxruntime
    floor_lock = os.path.join(BENCH, "floor", "Cargo.lock")
    parts = [f"Joey {rev}{dirty} (ort {lock_version(os.path.join(REPO, 'Cargo.lock'), 'ort')}, "
             f"axum {lock_version(os.path.join(REPO, 'Cargo.lock'), 'axum')}, {os.path.basename(ort_lib())})",
             cmd("rustc", "--version"), f"CPython {platform.python_version()}",
             f"onnxruntime-python {onnxruntime.__version__}",
             "FastAPI peer: " + ", ".join(f"{k} {v}" for k, v in fa.items()),
             "MLServer peer: " + ", ".join(f"{k} {v}" for k, v in ml.items()),
             f"floor: hyper {lock_version(floor_lock, 'hyper')}, tokio {lock_version(floor_lock, 'tokio')}, "
             f"ort {lock_version(floor_lock, 'ort')}", load.wrk_version()]
    return "; ".join(parts)


def fit_sklearn(models):
    """Returns (joblib path or None, note)."""
    py = os.path.join(BENCH, ".venv-mlserver", "bin", "python")
    if "houseprice" not in models:
        return None, "mlserver-sklearn skipped: no house-price data"
    r = subprocess.run([py, "-c", "import mlserver_sklearn, sklearn"], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"mlserver-sklearn skipped: it did not install here ({r.stderr.strip().splitlines()[-1:]})"
    out = os.path.join(W.DATA, "houseprice-rf.joblib")
    hp = os.path.join(SHARED, "houseprice")
    r = subprocess.run([py, os.path.join(BENCH, "servers", "fit_sklearn_rf.py"), models["houseprice"].path,
                        os.path.join(hp, "xtest-1k.df.json"), os.path.join(hp, "biginputs.df.json"), out],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return None, f"mlserver-sklearn skipped: fitting the forest failed: {r.stderr[-300:]}"
    info = json.loads(r.stdout.strip().splitlines()[-1])
    return out, (f"mlserver-sklearn serves a scikit-learn RandomForestRegressor refit to the ONNX forest's size "
                 f"({info['trees']} trees, max 32 leaves; R² {info['r2_vs_onnx']:.3f} against the ONNX model's outputs on "
                 f"{info['rows']} rows) because only the ONNX export exists: same kind of work, not the same model")


# joey-batch: Joey (logging on) with this dynamic_batching_config on its models (a lone caller
# never waits; under load requests wait up to 1 ms to be batched).
JOEY_BATCHING = {"max_batch_delay_ms": 1, "batch_size_target": 8}


def paired_units(order):
    """Servers in rotation units: joey and joey-nolog form one unit, so the logging-cost pair is
    always measured back to back (machine drift between them cancels instead of adding)."""
    units, i = [], 0
    while i < len(order):
        if order[i] == "joey" and i + 1 < len(order) and order[i + 1] == "joey-nolog":
            units.append(("joey", "joey-nolog"))
            i += 2
        else:
            units.append((order[i],))
            i += 1
    return units


def rotation(units, rep):
    """The servers of repeat `rep`: units rotated by `rep`; a pair's order flips every repeat
    (on/off, off/on, ...) so a steady drift does not favour either side."""
    k = rep % len(units) if units else 0
    out = []
    for u in units[k:] + units[:k]:
        out.extend(u if rep % 2 == 0 else tuple(reversed(u)))
    return out


def make_server(name, sk_path):
    return {"joey": lambda: S.Joey(name, True), "joey-nolog": lambda: S.Joey(name, False),
            "joey-batch": lambda: S.Joey(name, True, JOEY_BATCHING),
            "fastapi-1w": lambda: S.FastAPI(name, 1), "fastapi-2w": lambda: S.FastAPI(name, 2),
            "mlserver": lambda: S.MLServer(name), "mlserver-sklearn": lambda: S.MLServer(name, sk_path),
            "floor-http": lambda: S.FloorHTTP(name)}[name]()


def main():
    t_start = time.monotonic()
    os.makedirs(OUT, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    models, workloads, notes = W.prepare()
    workloads, run_compute = select(workloads)
    needed = [s for s in W.SERVERS if any(s in w.conc for w in workloads)]
    sk_path = None
    if "mlserver-sklearn" in needed:
        sk_path, note = fit_sklearn(models)
        notes.append(note)
        if sk_path is None:
            needed.remove("mlserver-sklearn")
            for w in workloads:
                w.conc.pop("mlserver-sklearn", None)
    cells = sum(len(cs) for w in workloads for s, cs in w.conc.items() if s in needed)
    n_floor = len({report.floor_key(w) for w in workloads}) if run_compute else 0
    est = cells * (REPEATS * (DURATION + 0.2) + WARMUP) + n_floor * 2 * REPEATS * (max(1, DURATION / 5) * 1.1 + 0.3) + 40
    log(f"{cells} cells x {REPEATS} repeats x {DURATION} s (+ {WARMUP} s warm-up per cell) and {n_floor} compute "
        f"floors: expect about {est / 60:.0f} min")
    help_text = subprocess.run([S.JOEY_BIN, "serve", "--help"], capture_output=True, text=True).stdout
    logging_flag_known = "INFERENCE_LOGGING" in help_text
    if "joey-nolog" in needed and not logging_flag_known:
        notes.append("`joey serve --help` does not list JOEY_INFERENCE_LOGGING: this build ignores the flag, so "
                     "joey and joey-nolog are the same configuration and their difference is noise")
    floors = compute_floors(models, workloads) if run_compute else {}

    running, runs, failures, completed, extras = {}, [], [], False, {}
    try:
        for name in needed:
            srv = make_server(name, sk_path)
            log(f"starting {name}")
            srv.start() if isinstance(srv, S.Joey) else srv.start(models)
            running[name] = srv
            srv.setup(models, workloads)
            for w in workloads:
                if name in w.conc:
                    ref = None if name == "floor-http" else W.expected_first_output(models[w.model], _first_row(w, models[w.model]))
                    msg = S.check_answer(srv, w, models[w.model], ref)
                    if msg and msg not in notes:
                        notes.append(msg)
            log(f"{name} ready in {srv.info['start_to_ready_s']:.2f} s, idle RSS "
                f"{srv.info['idle_rss_after_start_mib']:.1f} MiB")
        units = paired_units([s for s in W.SERVERS if s in running])
        for rep in range(REPEATS):
            rot = rotation(units, rep)
            for w in workloads:
                for c in sorted({c for cs in w.conc.values() for c in cs}):
                    for name in rot:
                        if c not in w.conc.get(name, []):
                            continue
                        srv = running[name]
                        url, body, ct, accept, auth = srv.target(w, models[w.model])
                        if rep == 0 and WARMUP > 0:
                            load.run_wrk(url, body, ct, c, WARMUP, accept, auth)
                        logged = srv.log_counters() if isinstance(srv, S.Joey) else None
                        r = load.measure(srv.pid, url, body, ct, c, DURATION, w.rows, accept, auth)
                        r.update(server=name, workload=w.name, repeat=rep)
                        if logged:
                            # Rows the log store kept and shed during this cell (it sheds instead of
                            # blocking inference when its writer falls behind).
                            after = srv.log_counters()
                            r.update(log_appended=after[0] - logged[0], log_shed=after[1] - logged[1])
                        runs.append(r)
                        flag = f"  !! {r['errors']} errors" if r["errors"] else ""
                        log(f"rep {rep + 1}/{REPEATS} {w.name:18s} c={c:<3d} {name:16s} {r['rps']:>9,.0f} req/s "
                            f"p50 {r['p50_ms']:7.3f} ms p99 {r['p99_ms']:7.3f} ms{flag}")
                        if r["errors"]:
                            failures.append(f"{name} {w.name} c={c}: {r['non2xx']} non-2xx, {r['socket_errors']}")
                        if not srv.alive():
                            raise RuntimeError(f"{name} died during {w.name}:\n{srv.tail_log()}")
        extras = run_extras(running, runs, workloads, models)
        for name, srv in running.items():
            srv.info["final_rss_mib"] = S.rss_mib(srv.pid)
            srv.info["peak_rss_mib"] = max([r["peak_rss_mib"] for r in runs if r["server"] == name], default=None)
        completed = True
    finally:
        for srv in running.values():
            srv.stop()
        elapsed = time.monotonic() - t_start
        infos = {n: s.info for n, s in running.items()}
        agg = report.aggregate(runs)
        cmd = "".join(f"{k}={os.environ[k]} " for k in ("BENCH_DURATION", "BENCH_REPEATS", "BENCH_WARMUP", "BENCH_ONLY",
                                                        "BENCH_WRK_THREADS", "BENCH_SKIP_BUILD") if os.environ.get(k))
        cmd += "bash bench/run.sh"
        meta = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "command": cmd, "machine": machine(),
                "duration_s": DURATION, "repeats": REPEATS, "warmup_s": WARMUP, "elapsed_s": elapsed,
                "versions": versions()}
        raw = {"meta": meta, "completed": completed, "notes": notes, "extras": extras, "failures": failures, "floors": floors, "servers": infos, "runs": runs,
               "medians": [{"server": k[0], "workload": k[1], "conc": k[2], **v} for k, v in agg.items()],
               "models": {k: vars(m) for k, m in models.items()}}
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for p in (os.path.join(OUT, f"results-{stamp}.json"), os.path.join(OUT, "results-latest.json")):
            with open(p, "w") as f:
                json.dump(raw, f, indent=1)
        if completed and runs and os.environ.get("BENCH_NO_MD") != "1":
            if failures:
                notes.append("requests failed: " + "; ".join(failures))
            section = report.render(meta, agg, floors, infos, workloads, W.SERVERS, notes, logging_flag_known, extras)
            report.write_markdown(os.path.join(REPO, "BENCHMARKS.md"), section)
            log("results written to BENCHMARKS.md")
        log(f"raw results: bench/out/results-{stamp}.json; total {elapsed / 60:.1f} min")
    if failures:
        log("FAILED: some requests were answered with errors:\n  " + "\n  ".join(failures))
        return 1
    return 0


def run_extras(running, runs, workloads, models):
    """p99 at half the peak rate (servers that ran ccfraud-1 at c=32) and the log store figures."""
    out = {"half_peak": []}
    agg = report.aggregate(runs)
    w = next((w for w in workloads if w.name == "ccfraud-1"), None)
    for name in X.HALF_PEAK_SERVERS:
        peak = agg.get((name, "ccfraud-1", 32))
        if w is None or name not in running or not peak:
            continue
        url, body, ct, accept, auth = running[name].target(w, models[w.model])
        out["half_peak"].append(X.half_peak(name, url, body, ct, accept, auth, peak["rps"], DURATION))
    # The machine's own p99 at Joey's rate: the floor driven at half of Joey's peak, so a reader
    # can tell the generator's and the VM's share of Joey's p99 from Joey's own.
    joey_peak, floor = agg.get(("joey", "ccfraud-1", 32)), running.get("floor-http")
    if w is not None and joey_peak and floor is not None:
        url, body, ct, accept, auth = floor.target(w, models[w.model])
        out["half_peak"].append(X.half_peak(X.FLOOR_AT_JOEY, url, body, ct, accept, auth,
                                            joey_peak["rps"], DURATION))
    # Where Joey's p99 stays under the target: the same run at lower fractions of its peak.
    if w is not None and joey_peak and "joey" in running:
        url, body, ct, accept, auth = running["joey"].target(w, models[w.model])
        out["joey_sweep"] = [X.half_peak("joey", url, body, ct, accept, auth, joey_peak["rps"], DURATION, f)
                             for f in X.SWEEP]
    if not ONLY or "logstore" in ONLY:
        out["logstore"] = X.logstore()
    return out


def _first_row(w, model):
    import numpy as np
    return np.fromfile(w.f32, dtype="<f4")[:model.row_len].tolist()


if __name__ == "__main__":
    sys.exit(main())
