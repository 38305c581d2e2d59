#!/usr/bin/env bash
# Creates (or updates) the Python environment of the compatibility suite: .venv-compat at the
# repo root, with the pinned packages of compat/requirements.txt. Idempotent: does nothing when
# the venv already matches the requirements file. Quiet on success; prints pip's log on failure.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/.venv-compat"
req="$repo/compat/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "$venv/bin/pip" install -q -r "$req" >"$log" 2>&1; then
  echo "compat-venv: full install failed; falling back to wallaroo --no-deps (see compat/requirements.txt)" >&2
  grep -vE '^(wallaroo)==' "$req" | grep -vE '^\s*(#|$)' >"$log.req"
  if ! { "$venv/bin/pip" install -q --no-deps wallaroo==2026.1.3 &&
         "$venv/bin/pip" install -q -r "$log.req"; } >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log.req"
    exit 1
  fi
  rm -f "$log.req"
fi
"$venv/bin/python" -c 'import wallaroo.wallaroo_ml_ops_api_client.client, jwt, pytest, requests, pyarrow, pandas' \
  || { echo "compat-venv: installed packages do not import" >&2; exit 1; }
echo "$want" >"$stamp"
