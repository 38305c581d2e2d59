#!/usr/bin/env python3
"""Reference outputs from onnxruntime-python, for joey-engine's parity tests.

    .ort/bin/python scripts/ort_reference.py MODEL IN.f32 ROWS COLS OUT.f32 [--threads N]

Reads ROWS x COLS little-endian float32 values from IN.f32, feeds them to the model's
first (only) input, and writes every output, cast to float32 and flattened, one after the
other, to OUT.f32. Prints each output's name and shape as one JSON line on stdout.
"""
import argparse
import json

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("rows", type=int)
    ap.add_argument("cols", type=int)
    ap.add_argument("output")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    x = np.fromfile(a.input, dtype="<f4").reshape(a.rows, a.cols)
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    with open(a.output, "wb") as f:
        for o in outs:
            f.write(np.asarray(o, dtype="<f4").tobytes())
    print(json.dumps([{"name": m.name, "shape": list(o.shape)} for m, o in zip(sess.get_outputs(), outs)]))


if __name__ == "__main__":
    main()
