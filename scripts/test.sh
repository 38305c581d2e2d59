#!/usr/bin/env bash
# The test command (README): everything that needs neither ../shared nor PostgreSQL.
#   1. installs the ONNX Runtime library (.ort/) and the compat venv (.venv-compat/),
#   2. runs every Rust test of the workspace (SQLite store, engine on tiny fixtures, API tests
#      against the real server on random ports),
#   3. runs the Python compatibility suite (official wallaroo==2026.1.3 generated client +
#      plain requests) against a real `joey serve`, except the tests marked `shared`.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
unset RUST_BACKTRACE
echo "== installing ONNX Runtime and the compat venv"
bash scripts/install-ort.sh >/dev/null
bash scripts/compat-venv.sh
echo "== cargo test (workspace)"
cargo test --workspace --locked
echo "== python compat suite (no shared data)"
cargo build -p joey-server --locked
bash compat/run.sh -m "not shared"
echo "== all tests passed"
