"""PyTorch's transfer-learning tutorial, "ConvNet as fixed feature extractor", timed on the same
photos and epochs as bench/activation-caching.ts: torchvision MobileNetV2 at width 0.35 with every
layer frozen but a new 2-class classifier, the frozen backbone recomputed on every batch of every
epoch (what the tutorial and Keras do), SGD with momentum on the classifier.

The backbone's weights are random: torchvision's pretrained weights need a download, which these
machines cannot make. Timing does not depend on the weights' values; accuracy does, so this script
reports seconds per epoch, not accuracy.
Usage: /usr/bin/python3 bench/torch_tutorial_recipe.py --data DIR --epochs 5 --threads 1
"""
import argparse, json, os, resource, time

import torch
import torchvision
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--limit", type=int, default=195, help="training photos (the TF.js side trains on an 80 %% split)")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

t_load = time.perf_counter()
items = []
for label, cls in enumerate(sorted(os.listdir(a.data))):
    for f in sorted(os.listdir(os.path.join(a.data, cls))):
        if f.lower().endswith((".jpg", ".jpeg", ".png")):
            items.append((os.path.join(a.data, cls, f), label))
items = items[: a.limit] if len(items) <= a.limit else [items[i] for i in torch.randperm(len(items))[: a.limit].tolist()]
mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
def load(path):
    img = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
    x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(224, 224, 3).permute(2, 0, 1).float() / 255
    return (x - mean) / std
xs = torch.stack([load(f) for f, _ in items])
ys = torch.tensor([l for _, l in items])
load_s = time.perf_counter() - t_load

model = torchvision.models.mobilenet_v2(width_mult=0.35)
for prm in model.parameters():
    prm.requires_grad = False
model.classifier[1] = torch.nn.Linear(model.last_channel, 2)
opt = torch.optim.SGD(model.classifier.parameters(), lr=1e-3, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
model.train()  # as the tutorial's train phase (BN in train mode, dropout on); frozen params are not updated
epoch_s = []
for epoch in range(a.epochs):
    t0 = time.perf_counter()
    perm = torch.randperm(len(xs))
    for i in range(0, len(xs), a.batch):
        idx = perm[i : i + a.batch]
        x = xs[idx]
        flip = torch.rand(len(idx)) < 0.5
        x[flip] = x[flip].flip(-1)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), ys[idx])
        loss.backward()
        opt.step()
    epoch_s.append(time.perf_counter() - t0)
print(json.dumps({
    "framework": "pytorch", "version": torch.__version__, "recipe": "tutorial fixed feature extractor (backbone recomputed every epoch)",
    "model": "mobilenet_v2 width 0.35 (random weights: timing only)", "threads": a.threads, "images": len(xs), "batch": a.batch,
    "epochs": a.epochs, "headEpochSeconds": round(sum(epoch_s) / len(epoch_s), 2), "totalTrainSeconds": round(sum(epoch_s), 1),
    "decodeSeconds": round(load_s, 1), "peakRssMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}), flush=True)
