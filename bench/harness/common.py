"""Shared helpers: paths, knobs, HTTP calls, free ports and /proc process-tree metrics."""
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
SHARED = os.environ.get("JOEY_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def knob(name, default, cast=str):
    v = os.environ.get(name, "")
    return cast(v) if v.strip() else default


DURATION = knob("BENCH_DURATION", 10, int)
REPEATS = knob("BENCH_REPEATS", 3, int)
WARMUP = knob("BENCH_WARMUP", 1, int)
WRK_THREADS = knob("BENCH_WRK_THREADS", 1, int)
ONLY = [s.strip() for s in knob("BENCH_ONLY", "").split(",") if s.strip()]


def log(*a):
    print(time.strftime("[%H:%M:%S]"), *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=60):
    """Returns (status, bytes). Never raises on HTTP error statuses."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        return 0, str(e).encode()


def http_json(method, url, body=None, headers=None, ok=(200, 201, 202)):
    status, raw = http(method, url, body, headers)
    if status not in ok:
        raise RuntimeError(f"{method} {url} -> {status}: {raw[:500]!r}")
    return json.loads(raw) if raw else None


def wait_http_ok(url, proc, timeout=180):
    """Polls url until it answers 200; returns seconds waited. Raises if proc exits or times out."""
    t0 = time.monotonic()
    while True:
        status, _ = http("GET", url, timeout=2)
        if status == 200:
            return time.monotonic() - t0
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before {url} answered")
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.02)


# ---- /proc metrics over a process tree -------------------------------------------------------

def _children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rfind(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """pid and all its live descendants (uvicorn / MLServer worker processes)."""
    kids, out, todo = _children_map(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(pids):
    """utime+stime of each process plus cutime+cstime of its reaped children, in clock ticks."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
    return total


def cpu_seconds(pid):
    return cpu_ticks(tree(pid)) / CLK_TCK


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mib(pid):
    """Current VmRSS summed over the process tree, MiB."""
    return sum(_status_kib(p, "VmRSS") for p in tree(pid)) / 1024


def hwm_mib(pid):
    """Peak VmHWM summed over the process tree, MiB (an upper bound for several processes)."""
    return sum(_status_kib(p, "VmHWM") for p in tree(pid)) / 1024


def reset_hwm(pid):
    """Resets VmHWM to the current RSS (write 5 to clear_refs; Linux >= 4.0, needs ownership)."""
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
