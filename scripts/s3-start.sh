#!/usr/bin/env bash
# Starts a throwaway S3-compatible server (moto in server mode) for the S3 artifact-store tests and
# prints its endpoint URL on stdout. Installs moto into .venv-moto at the repo root if missing.
# State (pid, log) lives under ${JOEY_S3_DIR:-a new /tmp dir}; the port is ${JOEY_S3_PORT:-a free
# one}. Nothing is created in the server (tests make their own buckets). Stop it with
# scripts/s3-stop.sh <the same dir>. Clients need any AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOTO_VERSION=5.2.5
venv="$repo/.venv-moto"
S3DIR=${JOEY_S3_DIR:-$(mktemp -d /tmp/joey-s3.XXXXXX)}
mkdir -p "$S3DIR"
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "installing moto[server]==$MOTO_VERSION into $venv..." >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
answers() {
  python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass  # any HTTP answer means it is up
except Exception:
    sys.exit(1)
PY
}
for attempt in 1 2 3; do
  PORT=${JOEY_S3_PORT:-$(free_port)}
  url="http://127.0.0.1:$PORT"
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$PORT" </dev/null >"$S3DIR/log.$attempt" 2>&1 &
  pid=$!
  echo "$pid" >"$S3DIR/pid"
  for _ in $(seq 1 100); do
    if answers "$url"; then
      echo "$url"
      exit 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "moto did not start on port $PORT (attempt $attempt); its log:" >&2
  tail -n 20 "$S3DIR/log.$attempt" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$S3DIR/pid"
  sleep 1
done
exit 1
