#!/usr/bin/env bash
# Runs the Python compatibility suite against a built Joey binary. Builds nothing:
#   cargo build -p joey-server && scripts/compat-venv.sh && compat/run.sh [pytest args]
# With no path among the args it runs the whole of compat/ (e.g. `compat/run.sh -k device`);
# with paths (`compat/run.sh compat/test_auth.py::test_userinfo`) it runs just those.
# Env: JOEY_BIN (default target/debug/joey), JOEY_COMPAT_DATABASE_URL (run on PostgreSQL),
# JOEY_COMPAT_KEEP=1 (keep the temp data dirs and server logs), JOEY_SHARED_DATA (the third-party
# reference data, default ../shared/data). Tests that read it are marked `shared`: CI runs
# `compat/run.sh -m "not shared"` (needs nothing outside the repo) and `compat/run.sh -m shared`.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py="$repo/.venv-compat/bin/pytest"
if [ ! -x "$py" ]; then
  echo "compat/run.sh: $py missing; run scripts/compat-venv.sh first" >&2
  exit 2
fi
cd "$repo"
target=(compat)
for a in "$@"; do
  case "$a" in -*) continue ;; esac
  if [ -e "${a%%::*}" ]; then target=(); break; fi
done
exec "$py" -q "${target[@]}" "$@"
