"""Writes PyTorch checkpoint fixtures for test/io/torch_pth.test.ts, with torch.save itself.

OUT_DIR/
  edge.pth         zip layout: a state dict of tensors in every storage dtype, a transposed
                   (non-contiguous) tensor, a slice with a storage offset, two tensors sharing one
                   storage, an nn.Parameter, a 0-d tensor, an empty tensor, '_metadata' (BUILD)
  edge_legacy.pth  the same dict in the pre-1.6 layout (_use_new_zipfile_serialization=False)
  checkpoint.pth   {'epoch', 'state_dict' (names prefixed 'module.'), 'optimizer', 'args' (an
                   argparse.Namespace), 'best' (a numpy float)} as training scripts save them
  expected.json    every tensor of edge.pth as {shape, values} (floats as float32 values)
Usage: /usr/bin/python3 scripts/torch_pth_fixtures.py OUT_DIR
"""
import argparse, collections, json, os, sys

import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
base = torch.randn(4, 6)
shared = torch.arange(10, dtype=torch.float32)
sd = collections.OrderedDict()
sd["f32"] = torch.randn(2, 3)
sd["f64"] = torch.randn(3, dtype=torch.float64)
sd["f16"] = torch.tensor([1.5, -2.25, 65504.0, 6.1e-5, 0.0], dtype=torch.float16)
sd["bf16"] = torch.tensor([1.0, -3.5, 1e30, 2.0 ** -100], dtype=torch.bfloat16)
sd["i64"] = torch.tensor([[1, -2], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int64)
sd["i32"] = torch.tensor([7, -8], dtype=torch.int32)
sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
sd["i8"] = torch.tensor([-5, 5], dtype=torch.int8)
sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
sd["bool"] = torch.tensor([True, False, True])
sd["transposed"] = base.t()  # stride (1, 6)
sd["sliced"] = base[1:, 2:5]  # storage offset 8, strides (6, 1)
sd["shared_a"] = shared[:5]
sd["shared_b"] = shared[5:]
sd["param"] = torch.nn.Parameter(torch.randn(3, 2))
sd["scalar"] = torch.tensor(3.25)
sd["empty"] = torch.zeros(0, 4)
sd["num_batches_tracked"] = torch.tensor(17)
sd._metadata = collections.OrderedDict([("", {"version": 1})])
torch.save(sd, os.path.join(out, "edge.pth"))
torch.save(sd, os.path.join(out, "edge_legacy.pth"), _use_new_zipfile_serialization=False)

model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model(torch.randn(5, 3)).sum().backward()
opt.step()
wrapped = collections.OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
torch.save({"epoch": 3, "state_dict": wrapped, "optimizer": opt.state_dict(), "args": argparse.Namespace(lr=0.1), "best": np.float64(0.9)}, os.path.join(out, "checkpoint.pth"))

def values(t):
    return t.detach().to(torch.float32).flatten().tolist() if t.is_floating_point() else t.flatten().to(torch.int64).tolist()

expected = {k: {"shape": list(v.shape), "values": values(v)} for k, v in sd.items()}
expected["__checkpoint__"] = {k: {"shape": list(v.shape), "values": values(v)} for k, v in model.state_dict().items()}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
print(json.dumps({"torch": torch.__version__, "tensors": len(sd)}))
