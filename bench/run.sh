#!/usr/bin/env bash
# Joey benchmark: one command that installs what it needs, builds Joey and the floors, starts Joey
# and its peers (MLServer, FastAPI, a bare hyper server) on 127.0.0.1, drives them all with wrk, and
# writes the results into BENCHMARKS.md (and raw JSON under bench/out/). See BENCHMARKS.md.
#
#   bash bench/run.sh                                   # default: 10 s per run, 3 repeats (~25 min)
#   BENCH_DURATION=2 BENCH_REPEATS=1 bash bench/run.sh  # smoke run (a few minutes)
#   BENCH_ONLY=joey,fastapi-1w,ccfraud-1 bash bench/run.sh   # a subset (servers and/or workloads)
#   BENCH_SKIP_BUILD=1 ...                              # reuse the binaries already built
#
# Needs: Debian 12 (apt for wrk), cargo, python3.11+ with venv/pip, and PyPI/crates.io access on the
# first run. Never fails on timing; fails if a server does not start or answers errors.
set -euo pipefail
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$bench")
cd "$repo"
t0=$(date +%s)
step() { echo "== [$(( $(date +%s) - t0 )) s] $*" >&2; }

step "load generator (wrk from Debian)"
if ! command -v wrk >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y wrk >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
fi

step "ONNX Runtime (scripts/install-ort.sh)"
ORT_DYLIB_PATH=$(bash scripts/install-ort.sh | tail -n1)
export ORT_DYLIB_PATH

if [ "${BENCH_SKIP_BUILD:-}" = 1 ] && [ -x target/release/joey ] && [ -x bench/floor/target/release/floor-http ] \
    && [ -x bench/floor/target/release/rate-load ] && [ -x target/release/examples/logstore_bench ]; then
    step "BENCH_SKIP_BUILD=1: using the existing target/release/joey and bench/floor binaries"
else
    step "building Joey (release)"
    cargo build --release -p joey-server
    cargo build --release -p joey-logstore --example logstore_bench
    step "building the floors (bench/floor)"
    cargo build --release --manifest-path bench/floor/Cargo.toml
fi

py=$(command -v python3.11 || command -v python3)
if ! "$py" -c "import ensurepip, venv" 2>/dev/null; then  # Debian's python3 needs python3-venv for venvs
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y python3-venv >/dev/null 2>&1 || { $sudo apt-get update >/dev/null && $sudo apt-get install -y python3-venv >/dev/null; }
fi
venv() {  # venv <dir> <requirements file>: (re)creates it when the requirements changed
    local dir=$1 req=$2 stamp
    stamp="$dir/.bench-$(sha256sum "$req" | cut -c1-16)"
    [ -f "$stamp" ] && return 0
    step "creating $dir from $(basename "$req")"
    rm -rf "$dir"
    "$py" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    touch "$stamp"
}
venv "$bench/.venv-fastapi" "$bench/requirements-fastapi.txt"
venv "$bench/.venv-mlserver" "$bench/requirements-mlserver.txt"
if [ ! -f "$bench/.venv-mlserver/.bench-sklearn-tried" ]; then
    step "trying mlserver-sklearn (optional)"
    "$bench/.venv-mlserver/bin/pip" install --quiet --disable-pip-version-check "mlserver-sklearn==1.7.1" \
        || echo "mlserver-sklearn did not install; the sklearn runtime row will be skipped" >&2
    touch "$bench/.venv-mlserver/.bench-sklearn-tried"
fi

step "setup done; running the harness"
unset RUST_BACKTRACE
"$repo/.ort/bin/python" "$bench/harness/main.py" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"' INT TERM
set +e
wait "$pid"
rc=$?
step "finished (harness exit code $rc)"
exit $rc
