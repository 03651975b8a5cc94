"""PyTorch reference for bench/train-throughput.ts: torchvision MobileNetV2 (alpha 1.0) or ResNet50.

Prints one JSON object per (size, threads): samples/s of full training steps (forward, backward,
Adam update; --mode train) or of inference forward passes (--mode infer) at batch 32 on random
data, the same work the TF.js side times.
Times are the median of --steps timed steps after two warm-up steps; on CUDA every step ends
with a device synchronisation (the loss is read back), as the TF.js side reads its loss.
Usage: /usr/bin/python3 bench/torch_cnn.py --arch mobilenet_v2 --sizes 224,96 --threads 1,2 --steps 5
       /usr/bin/python3 bench/torch_cnn.py --arch resnet50 --sizes 224 --threads 1
       python3 bench/torch_cnn.py --device cuda --threads 0
"""
import argparse, json, resource, statistics, time

import torch
import torchvision

p = argparse.ArgumentParser()
p.add_argument("--arch", choices=["mobilenet_v2", "resnet50"], default="mobilenet_v2")
p.add_argument("--sizes", default="224,96")
p.add_argument("--threads", default="1,2")
p.add_argument("--batch", type=int, default=32)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--classes", type=int, default=10)
p.add_argument("--mode", choices=["train", "infer"], default="train")
p.add_argument("--device", default="cpu")
a = p.parse_args()
dev = torch.device(a.device)
if dev.type == "cuda":
    torch.backends.cudnn.benchmark = True  # what a speed-minded PyTorch user turns on

for size in [int(s) for s in a.sizes.split(",")]:
    for threads in [int(t) for t in a.threads.split(",")]:
        if threads > 0:
            torch.set_num_threads(threads)
        torch.manual_seed(0)
        model = getattr(torchvision.models, a.arch)(num_classes=a.classes).to(dev)
        model.train(a.mode == "train")
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        x = torch.randn(a.batch, 3, size, size, device=dev)
        y = torch.randint(0, a.classes, (a.batch,), device=dev)
        loss_fn = torch.nn.CrossEntropyLoss()

        def infer():
            with torch.no_grad():
                return model(x).sum().item()

        def train():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        step = train if a.mode == "train" else infer
        step()  # warm-up (and cudnn autotuning)
        step()
        times = []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        dt = statistics.median(times)
        out = {
            "framework": "pytorch", "version": torch.__version__, "model": "mobilenet_v2_1.0" if a.arch == "mobilenet_v2" else a.arch, "arch": a.arch, "mode": a.mode,
            "inputSize": size, "batch": a.batch, "device": dev.type, "threads": threads if threads > 0 else torch.get_num_threads(),
            "samplesPerSec": round(a.batch / dt, 2), "steps": a.steps,
            "peakRssMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        if dev.type == "cuda":
            out["gpu"] = torch.cuda.get_device_name(dev)
            out["peakGpuMB"] = round(torch.cuda.max_memory_allocated(dev) / 2**20)
        print(json.dumps(out), flush=True)
