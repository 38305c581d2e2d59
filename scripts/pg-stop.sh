#!/usr/bin/env bash
# Stops a PostgreSQL started by scripts/pg-start.sh and removes its directory: pg-stop.sh <dir>.
set -uo pipefail
PGDIR=${1:?usage: pg-stop.sh <dir given to pg-start.sh>}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
run_as=()
[ "$(id -u)" = 0 ] && run_as=(runuser -u postgres --)
[ -d "$PGDIR/data" ] && "${run_as[@]}" "$bin/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1
rm -rf "$PGDIR"
