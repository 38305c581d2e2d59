#!/usr/bin/env bash
# Sets up and starts Joey on the embedded defaults (SQLite + local artifacts in ./joey-data):
#   scripts/serve.sh [joey serve flags...]      e.g. scripts/serve.sh --listen 0.0.0.0:8080
# Installs the ONNX Runtime library (from the PyPI wheel, into .ort/) and builds the release
# binary when needed. The admin password and api-client secret are printed on first start and
# written to joey-data/admin-credentials.json.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/install-ort.sh >/dev/null
cargo build --release -p joey-server
exec target/release/joey serve "$@"
