#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the conformance and API tests and prints its URL.
# Installs Debian's postgresql if it is missing. Data lives under ${JOEY_PG_DIR:-/tmp/joey-pg}.
set -euo pipefail
PGDIR=${JOEY_PG_DIR:-/tmp/joey-pg}
PORT=${JOEY_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing postgresql from Debian..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd -r -m postgres
  run_as=(runuser -u postgres --)
fi
if ! "${run_as[@]}" "$bin/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  rm -rf "$PGDIR"; mkdir -p "$PGDIR"
  [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
  "${run_as[@]}" "$bin/initdb" -D "$PGDIR/data" -U joey --auth=trust -E UTF8 >/dev/null
  "${run_as[@]}" "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null
fi
echo "postgres://joey@127.0.0.1:$PORT/postgres"
