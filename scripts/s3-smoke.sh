#!/usr/bin/env bash
# End-to-end check of the S3 artifact store: runs `joey serve` (${JOEY_BIN:-target/debug/joey},
# built beforehand) with `--artifact-store s3://<new bucket>/models` against an S3-compatible
# server, uploads the tiny ONNX fixture through the API, waits for `ready`, uploads it again under
# another name (deduplicated), checks the bucket holds exactly that one object, under
# models/sha256/<aa>/<sha>, then restarts with an empty local cache and deploys the model, which
# must download it again (sha-verified). Usage: scripts/s3-smoke.sh [endpoint]; without an endpoint it starts
# moto with scripts/s3-start.sh and stops it afterwards. Needs curl and python3.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bin=${JOEY_BIN:-target/debug/joey}
fixture=crates/joey-engine/tests/fixtures/tiny_ccfraud.onnx
work=$(mktemp -d /tmp/joey-s3-smoke.XXXXXX)
joey_pid=
moto_started=
fail() {
  echo "s3-smoke: FAILED: $*" >&2
  if [ -f "$work/joey.log" ]; then
    echo "---- last lines of the joey log:" >&2
    tail -n 30 "$work/joey.log" >&2
  fi
  exit 1
}
cleanup() {
  [ -n "$joey_pid" ] && kill "$joey_pid" 2>/dev/null && wait "$joey_pid" 2>/dev/null
  [ -n "$moto_started" ] && bash scripts/s3-stop.sh "$work/moto"
  rm -rf "$work"
}
trap cleanup EXIT
[ -x "$bin" ] || fail "$bin is missing; run cargo build -p joey-server first"

endpoint=${1:-}
if [ -z "$endpoint" ]; then
  endpoint=$(JOEY_S3_DIR="$work/moto" bash scripts/s3-start.sh)
  moto_started=1
fi
endpoint=${endpoint%/}
# moto accepts any credentials; a real server gets the caller's.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-joey-smoke-key}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-joey-smoke-secret}
bucket="joey-smoke-$(date +%s)-$$"
code=$(curl -sS -o "$work/body" -w '%{http_code}' -X PUT "$endpoint/$bucket") || fail "no answer from $endpoint"
[ "$code" = 200 ] || fail "creating bucket $bucket answered $code: $(cat "$work/body")"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
password=s3-smoke-admin-password
start_joey() {
  RUST_LOG=info JOEY_ADMIN_PASSWORD=$password "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" \
    --artifact-store "s3://$bucket/models" --s3-endpoint "$endpoint" >>"$work/joey.log" 2>&1 &
  joey_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS "$base/health" >/dev/null 2>&1 && return 0
    kill -0 "$joey_pid" 2>/dev/null || fail "joey serve exited during start-up"
    sleep 0.2
  done
  fail "joey serve did not answer on $base/health within 60 s"
}
start_joey

# json <dotted.path>: one value of the JSON on stdin (list indices are numbers).
json() {
  python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1"
}
# post <path> <curl args...>: the body of a 200 answer; anything else fails with status and body.
post() {
  local path=$1
  shift
  local code
  code=$(curl -sS -o "$work/body" -w '%{http_code}' -X POST "$base$path" "$@") || fail "POST $path: no answer"
  [ "$code" = 200 ] || fail "POST $path answered $code: $(cat "$work/body")"
  cat "$work/body"
}

token=$(post /auth/realms/master/protocol/openid-connect/token -d grant_type=password -d client_id=sdk-client \
  -d username=admin@joey.local --data-urlencode "password=$password" | json access_token)
auth=(-H "Authorization: Bearer $token")
ws=$(post /v1/api/workspaces/create "${auth[@]}" -H 'Content-Type: application/json' -d '{"workspace_name": "s3ws"}' | json workspace_id)
sha=$(sha256sum "$fixture" | cut -d' ' -f1)
key="models/sha256/${sha:0:2}/$sha"

wait_ready() {  # wait_ready <version id>: polls get_version_by_id until ready
  local status=
  for _ in $(seq 1 300); do
    post /v1/api/models/get_version_by_id "${auth[@]}" -H 'Content-Type: application/json' \
      -d "{\"model_version_id\": $1}" >"$work/version"
    status=$(json model_version.model_version.status <"$work/version")
    case "$status" in
      ready) break ;;
      error) fail "model version $1 failed to load: $(cat "$work/version")" ;;
    esac
    sleep 0.2
  done
  [ "$status" = ready ] || fail "model version $1 is still '$status' after 60 s"
  got=$(json model_version.model_version.file_info.sha <"$work/version")
  [ "$got" = "$sha" ] || fail "model version $1 has sha $got, the file has $sha"
}
for name in m1 m2; do
  vid=$(post "/v1/api/models/upload_stream?name=$name&workspace_id=$ws&filename=m.onnx" "${auth[@]}" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$fixture" | json insert_models.returning.0.models.0.id)
  wait_ready "$vid"
  echo "s3-smoke: $name (version $vid) is ready"
done

code=$(curl -sS -o "$work/list" -w '%{http_code}' "$endpoint/$bucket?list-type=2") || fail "cannot list $bucket"
[ "$code" = 200 ] || fail "listing $bucket answered $code: $(cat "$work/list")"
grep -q "<Key>$key</Key>" "$work/list" || fail "s3://$bucket/$key is not in the bucket: $(cat "$work/list")"
count=$(grep -o '<Key>' "$work/list" | wc -l)
[ "$count" = 1 ] || fail "expected 1 object in s3://$bucket (the second upload is deduplicated), found $count: $(cat "$work/list")"
size=$(python3 -c 'import sys, xml.etree.ElementTree as ET
ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
for c in ET.parse(sys.argv[1]).getroot().findall("s3:Contents", ns):
    if c.findtext("s3:Key", namespaces=ns) == sys.argv[2]:
        print(c.findtext("s3:Size", namespaces=ns))' "$work/list" "$key")
[ "$size" = "$(stat -c %s "$fixture")" ] || fail "s3://$bucket/$key has $size bytes, the fixture $(stat -c %s "$fixture")"
[ -f "$work/data/artifacts-cache/sha256/${sha:0:2}/$sha" ] || fail "the artifact is not in the local cache"
[ ! -e "$work/data/artifacts" ] || fail "the local artifact directory was used"

# A restart with an empty cache: deploying the model must download it from the bucket (verified).
kill "$joey_pid"
wait "$joey_pid" || true
rm -rf "$work/data/artifacts-cache"
start_joey
echo "s3-smoke: restarted with an empty artifact cache; deploying m2"
version=$(json model_version.model_version.file_info.version <"$work/version")
step="{\"ModelInference\": {\"models\": [{\"name\": \"m2\", \"version\": \"$version\", \"sha\": \"$sha\"}]}}"
vpk=$(post /v1/api/pipelines/create "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"pipeline_id\": \"s3p\", \"workspace_id\": $ws, \"definition\": {\"steps\": [$step]}}" | json pipeline_variant_pk_id)
dep=$(post /v1/api/pipelines/deploy "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"deploy_id\": \"s3p\", \"pipeline_version_pk_id\": $vpk, \"engine_config\": {\"engine\": {\"cpu\": 1, \"replicas\": 1}, \"workspace_id\": $ws}}" | json id)
status=
for _ in $(seq 1 300); do
  status=$(post /v1/api/status/get_deployment "${auth[@]}" -H 'Content-Type: application/json' -d "{\"name\": \"s3p-$dep\"}" | json status)
  case "$status" in
    Running) break ;;
    Starting) sleep 0.2 ;;
    *) fail "deployment s3p-$dep is '$status'" ;;
  esac
done
[ "$status" = Running ] || fail "deployment s3p-$dep is '$status', not Running, after 60 s"
cached="$work/data/artifacts-cache/sha256/${sha:0:2}/$sha"
[ -f "$cached" ] || fail "deploying did not bring the artifact back into the cache"
[ "$(sha256sum "$cached" | cut -d' ' -f1)" = "$sha" ] || fail "the cached artifact does not match sha $sha"
grep -q "artifact downloaded to the cache" "$work/joey.log" || fail "the server did not log a download"
echo "s3-smoke: OK: s3://$bucket/$key ($size bytes) via $endpoint; deployed s3p-$dep from a fresh download"
