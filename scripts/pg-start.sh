#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the conformance and API tests and prints its URL on stdout.
# Installs Debian's postgresql if it is missing. Data lives under ${JOEY_PG_DIR:-a new /tmp dir};
# the port is ${JOEY_PG_PORT:-a free one}. Stop it with scripts/pg-stop.sh <the same dir>.
# A fixed port once collided with a server still shutting down, so by default each start takes a
# fresh port and directory, retries on another port, and prints the server log if it cannot start.
set -euo pipefail
PGDIR=${JOEY_PG_DIR:-$(mktemp -d /tmp/joey-pg.XXXXXX)}
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
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rm -rf "$PGDIR/data"; mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
"${run_as[@]}" "$bin/initdb" -D "$PGDIR/data" -U joey --auth=trust -E UTF8 >/dev/null
for attempt in 1 2 3; do
  PORT=${JOEY_PG_PORT:-$(free_port)}
  if "${run_as[@]}" "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log.$attempt" \
      -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null; then
    echo "postgres://joey@127.0.0.1:$PORT/postgres"
    exit 0
  fi
  echo "PostgreSQL did not start on port $PORT (attempt $attempt); its log:" >&2
  tail -n 20 "$PGDIR/log.$attempt" >&2 || true
  sleep 2
done
exit 1
