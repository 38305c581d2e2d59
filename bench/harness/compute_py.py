"""Python compute floor: the model called in-process through onnxruntime-python, no HTTP.

Usage: python compute_py.py <model.onnx> <rows.f32> <row_len> <rows_per_call> <intra_threads> <seconds>
Same protocol and output as bench/floor's floor-compute (Rust): calls cycle over the rows
(rows_per_call = 1) or reuse the first rows_per_call rows; each timed call slices the input,
runs the session and copies the first output out. Prints one JSON object.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    model, data_path, row_len, per_call, threads, seconds = sys.argv[1:7]
    row_len, per_call, threads, seconds = int(row_len), int(per_call), int(threads), float(seconds)
    data = np.fromfile(data_path, dtype="<f4").reshape(-1, row_len)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    t0 = time.perf_counter()
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    inp = sess.get_inputs()[0]
    dims = inp.shape[1:]
    if not all(isinstance(d, int) and d > 0 for d in dims) or int(np.prod(dims)) != row_len:
        dims = [row_len]
    name, n_rows = inp.name, data.shape[0]

    def call(start):
        t = time.perf_counter_ns()
        x = data[start:start + per_call].reshape([per_call, *dims])
        out = sess.run(None, {name: x})[0]
        np.array(out, copy=True)
        return (time.perf_counter_ns() - t) / 1e3

    first = call(0)
    warm_until = time.perf_counter() + seconds / 10
    while time.perf_counter() < warm_until:
        call(0)
    lat, i = [], 0
    begin = time.perf_counter()
    stop = begin + seconds
    while time.perf_counter() < stop or not lat:
        lat.append(call(i % n_rows if per_call == 1 else 0))
        i += 1
    wall = time.perf_counter() - begin
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, round(p / 100 * (len(lat) - 1)))]
    print(json.dumps({"impl": "python-onnxruntime", "intra_threads": threads, "rows_per_call": per_call,
                      "load_ms": round(load_ms, 3), "first_call_us": round(first, 1), "calls": len(lat),
                      "p50_us": pct(50), "p90_us": pct(90), "p99_us": pct(99), "mean_us": sum(lat) / len(lat),
                      "calls_per_s": len(lat) / wall, "rows_per_s": len(lat) * per_call / wall}))


if __name__ == "__main__":
    main()
