"""Writes torchvision reference fixtures for test/io/torchvision.test.ts.

For each architecture: a random-initialised torchvision model (fixed seed; BatchNorm running
statistics and affine parameters randomised too, so they matter), in eval mode, saved as
`<name>.safetensors` (its state dict, written by hand: Debian has no `safetensors` package), the
same state dict as `<name>.pth` and `<name>_legacy.pth` (torch.save's zip and pre-1.6 layouts), plus
`<name>_io.safetensors` with an input batch `x` (NCHW) and the model's softmax output `probs`
(for `vgg16_features`, torchvision's VGG16 convolutional base, the output feature map, NCHW).
Usage: /usr/bin/python3 scripts/torchvision_fixtures.py OUT_DIR [--size 64] [--models resnet18,mobilenet_v2]
"""
import argparse, json, os, struct

import torch
import torchvision

from _safetensors import write_safetensors  # scripts/_safetensors.py


p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--size", type=int, default=64)
p.add_argument("--models", default="resnet18,vgg16_features,mobilenet_v2", help="comma-separated subset")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
torch.manual_seed(0)
class Features(torch.nn.Module):
    """A torchvision model's `features` under its own name, so the state dict keeps the `features.` prefix."""

    def __init__(self, full):
        super().__init__()
        self.features = full.features

    def forward(self, x):
        return self.features(x)


for name, build in [("resnet18", lambda: torchvision.models.resnet18(num_classes=10)), ("vgg16_features", lambda: Features(torchvision.models.vgg16(num_classes=10))), ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(num_classes=10))]:
    if name not in a.models.split(","):
        continue
    model = build()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    x = torch.randn(2, 3, a.size, a.size)
    with torch.no_grad():
        out = model(x)
        # Classifiers: softmax probabilities (the zoo's heads end in a softmax); feature extractors: the map itself.
        probs = torch.softmax(out, dim=1) if out.dim() == 2 else out
    write_safetensors(os.path.join(a.out, f"{name}.safetensors"), model.state_dict())
    # The same state dict as torch.save writes it: the zip layout, and the pre-1.6 layout that
    # torchvision's older published weights use.
    torch.save(model.state_dict(), os.path.join(a.out, f"{name}.pth"))
    torch.save(model.state_dict(), os.path.join(a.out, f"{name}_legacy.pth"), _use_new_zipfile_serialization=False)
    write_safetensors(os.path.join(a.out, f"{name}_io.safetensors"), {"x": x, "probs": probs})
    print(json.dumps({"model": name, "params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__}))
