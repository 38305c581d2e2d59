"""Fits the scikit-learn stand-in for the house-price forest served by MLServer's sklearn runtime.

Only rf_model.onnx (skl2onnx, 100 trees, ~31 leaves each) is available, not the original sklearn
object, so this fits a RandomForestRegressor of the same size (100 trees, max_leaf_nodes=32) on the
reference inputs, labelled with the ONNX model's own predictions. Same input, same work per row
in kind; not bit-identical outputs.

Usage: python fit_sklearn_rf.py <rf_model.onnx> <xtest-1k.df.json> <test-1000.df.json> <out.joblib>
"""
import json
import sys

import joblib
import numpy as np
import onnxruntime as ort
from sklearn.ensemble import RandomForestRegressor

onnx_path, *data_paths, out = sys.argv[1:]
rows = []
for p in data_paths:
    with open(p) as f:
        rows += [r["tensor"] for r in json.load(f)]
x = np.asarray(rows, dtype=np.float32)
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
y = sess.run(None, {sess.get_inputs()[0].name: x})[0].ravel()
rf = RandomForestRegressor(n_estimators=100, max_leaf_nodes=32, random_state=0, n_jobs=1).fit(x, y)
joblib.dump(rf, out)
print(json.dumps({"rows": len(x), "trees": len(rf.estimators_), "r2_vs_onnx": rf.score(x, y)}))
