"""Writes Keras weight files whose datasets are float16 (as `mixed_float16` policies or
`model.half()` exports produce), with h5py from Debian (`python3-h5py`), plus the expected values.

- OUT/f16_weights.h5: Keras 2 `save_weights` layout (root attribute `layer_names`, per layer
  `weight_names`, datasets at `<layer>/<weight name>`), two Dense layers;
- OUT/f16.keras: Keras 3 archive (zip of config.json + model.weights.h5 with
  `layers/<name>/vars/<i>`), same tensors;
- OUT/expected.json: every tensor as float32 lists (float16 -> float32 is exact), keyed like
  readKerasH5 (`<layer>/<weight>`), and the special values included (subnormals, -0, 65504, inf).

Usage: /usr/bin/python3 scripts/keras_f16_fixtures.py OUT
"""
import json, os, sys, zipfile

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(5)
special = np.array([0.0, -0.0, 1.0, -2.0, 65504.0, 2 ** -24, -(2 ** -14), 0.333], dtype=np.float16)
tensors = {
    "dense_a": {"kernel": rng.normal(size=(4, 8)).astype(np.float16), "bias": special},
    "dense_b": {"kernel": rng.normal(size=(8, 3)).astype(np.float16), "bias": np.array([np.inf, -np.inf, 0.5], dtype=np.float16)},
}

with h5py.File(os.path.join(out, "f16_weights.h5"), "w") as f:
    f.attrs["layer_names"] = np.array([n.encode() for n in tensors])
    f.attrs["backend"] = b"tensorflow"
    for layer, ws in tensors.items():
        g = f.create_group(layer)
        names = [f"{layer}/{w}:0" for w in ws]
        g.attrs["weight_names"] = np.array([n.encode() for n in names])
        for n, (w, v) in zip(names, ws.items()):
            g.create_dataset(n, data=v, dtype="<f2")

weights_h5 = os.path.join(out, "model.weights.h5")
with h5py.File(weights_h5, "w") as f:
    layers = f.create_group("layers")
    for layer, ws in tensors.items():
        vars_ = layers.create_group(layer).create_group("vars")
        for i, v in enumerate(ws.values()):
            vars_.create_dataset(str(i), data=v, dtype="<f2")
with zipfile.ZipFile(os.path.join(out, "f16.keras"), "w") as z:
    z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"name": "f16"}}))
    z.write(weights_h5, "model.weights.h5")
os.remove(weights_h5)

enc = lambda a: [None if np.isinf(x) else float(x) for x in a.astype(np.float32).ravel()]
expected = {f"{l}/{w}": {"shape": list(v.shape), "data": enc(v), "inf": [int(np.sign(x)) if np.isinf(x) else 0 for x in v.astype(np.float32).ravel()],
                         "negzero": [bool(x == 0 and np.signbit(x)) for x in v.astype(np.float32).ravel()]}
            for l, ws in tensors.items() for w, v in ws.items()}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
print(json.dumps({"ok": True}))
