#!/usr/bin/env bash
# Install the ONNX Runtime shared library that joey-engine loads at runtime.
#
# Creates a Python venv at <repo>/.ort and pip-installs the pinned onnxruntime wheel
# (which ships libonnxruntime.so.1.32.0), numpy and onnx (used by scripts/make_test_models.py
# and scripts/ort_reference.py). Idempotent: when the pinned versions are already present it
# only prints the library path. Prints the path of libonnxruntime.so.* on stdout (last line).
#
# joey-engine finds this library on its own (it searches `.ort/` in the current directory, the
# executable's directory and their ancestors); set JOEY_ORT_LIBRARY or ORT_DYLIB_PATH to override.
set -euo pipefail

ORT_VERSION="1.32.0"
ONNX_VERSION="1.23.2"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${JOEY_ORT_VENV:-$repo/.ort}"
py="$venv/bin/python"
stamp="$venv/.joey-ort-$ORT_VERSION-onnx-$ONNX_VERSION"

find_lib() {
    local f
    for f in "$venv"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so."$ORT_VERSION"; do
        if [ -f "$f" ]; then echo "$f"; return 0; fi
    done
    return 1
}

if [ -f "$stamp" ] && lib="$(find_lib)"; then
    echo "$lib"
    exit 0
fi

if [ ! -x "$py" ]; then
    echo "install-ort: creating venv at $venv" >&2
    python3 -m venv "$venv"
fi

echo "install-ort: installing onnxruntime==$ORT_VERSION onnx==$ONNX_VERSION numpy" >&2
"$py" -m pip install --quiet --disable-pip-version-check \
    "onnxruntime==$ORT_VERSION" numpy "onnx==$ONNX_VERSION" >&2

if ! lib="$(find_lib)"; then
    echo "install-ort: libonnxruntime.so.$ORT_VERSION not found inside the wheel under $venv" >&2
    exit 1
fi
touch "$stamp"
echo "$lib"
