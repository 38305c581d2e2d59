#!/usr/bin/env bash
# Stops a moto server started by scripts/s3-start.sh and removes its directory: s3-stop.sh <dir>.
set -uo pipefail
S3DIR=${1:?usage: s3-stop.sh <dir given to s3-start.sh>}
if [ -f "$S3DIR/pid" ]; then
  pid=$(cat "$S3DIR/pid")
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
fi
rm -rf "$S3DIR"
