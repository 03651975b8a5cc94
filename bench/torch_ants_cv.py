"""PyTorch on the same work as transferkit's ants-vs-bees cross-validation (bench/ants-cv-torch.ts
writes its inputs): the same ImageNet MobileNetV2 weights (alpha 0.35 or 1.0), read from the TF.js model.json
(Keras' asymmetric stride-2 padding and BatchNorm epsilon reproduced, checked against TF.js's
pooled features of 8 photos), the same preprocessed photos, the same 5 folds, and the demo's
'fine-tune' recipe: fastai fine_tune (head one-cycle with pct_start 0.99 at base_lr; then every
layer at slice(base_lr/2/100, base_lr/2) over three layer groups, one-cycle pct_start 0.3, div 5),
fastai's Adam (decoupled weight decay 0.01, not on biases and norm parameters; betas (0.9, 0.99)
with beta1 cycled 0.95/0.85/0.95; eps 1e-5), random horizontal flips, batch 32, a dropout(0.2) ->
dense head. --bn frozen (the demo): BatchNorm statistics fixed, gamma/beta trained once unfrozen;
--bn train with --head-epochs 1: fastai's own defaults (train_bn, statistics updated).
Prints one JSON line per fold and one per seed (pooled over the folds).
Usage: /usr/bin/python3 bench/torch_ants_cv.py --dir DIR --model MODEL_DIR [--seeds 0,1,2] [--bn frozen|train]
"""
import argparse, json, math, os, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--dir", required=True)
p.add_argument("--model", required=True)
p.add_argument("--seeds", default="0")
p.add_argument("--recipe", default="fine-tune", choices=["fine-tune", "probe"], help="probe: the head stage only")
p.add_argument("--head-epochs", type=int, default=5)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--base-lr", type=float, default=2e-3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--folds", default="0,1,2,3,4")
p.add_argument("--bn", default="frozen", choices=["frozen", "train"], help="frozen: the demo (statistics fixed; gamma/beta trained once unfrozen); train: fastai (BN trains in both stages)")
a = p.parse_args()
torch.set_num_threads(a.threads)

# ---- weights from the TF.js layers model
mj = json.load(open(os.path.join(a.model, "model.json")))
buf = b"".join(open(os.path.join(a.model, path), "rb").read() for g in mj["weightsManifest"] for path in g["paths"])
W, off = {}, 0
for g in mj["weightsManifest"]:
    for w in g["weights"]:
        n = int(np.prod(w["shape"])) if w["shape"] else 1
        assert w["dtype"] == "float32"
        W[w["name"]] = np.frombuffer(buf, dtype=np.float32, count=n, offset=off).reshape(w["shape"]).copy()
        off += 4 * n

def conv_w(k):  # [kh, kw, in, out] -> [out, in, kh, kw]
    return torch.from_numpy(W[k].transpose(3, 2, 0, 1).copy())

def dw_w(k):  # [kh, kw, in, 1] -> [in, 1, kh, kw]
    return torch.from_numpy(W[k].transpose(2, 3, 0, 1).copy())

def bn(name):
    m = nn.BatchNorm2d(W[name + "/gamma"].shape[0], eps=1e-3, momentum=0.001)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(W[name + "/gamma"])); m.bias.copy_(torch.from_numpy(W[name + "/beta"]))
        m.running_mean.copy_(torch.from_numpy(W[name + "/moving_mean"])); m.running_var.copy_(torch.from_numpy(W[name + "/moving_variance"]))
    return m

def conv(name, groups=1, stride=1, pad=0):
    w = dw_w(name + "/depthwise_kernel") if groups > 1 else conv_w(name + "/kernel")
    c = nn.Conv2d(w.shape[1] * groups, w.shape[0], w.shape[2:], stride=stride, padding=pad, groups=groups, bias=False)
    with torch.no_grad():
        c.weight.copy_(w)
    return c

class KerasPad(nn.Module):  # Keras correct_pad for even sizes: ((0, 1), (0, 1))
    def forward(self, x):
        return F.pad(x, (0, 1, 0, 1))

class Block(nn.Module):
    def __init__(self, prefix, expand, stride):
        super().__init__()
        ops = []
        if expand:
            ops += [conv(prefix + "expand"), bn(prefix + "expand_BN"), nn.ReLU6()]
        ch = W[prefix + "depthwise/depthwise_kernel"].shape[2]
        ops += ([KerasPad(), conv(prefix + "depthwise", groups=ch, stride=2)] if stride == 2 else [conv(prefix + "depthwise", groups=ch, pad=1)])
        ops += [bn(prefix + "depthwise_BN"), nn.ReLU6(), conv(prefix + "project"), bn(prefix + "project_BN")]
        self.ops = nn.Sequential(*ops)
        cin = W[(prefix + "expand/kernel") if expand else (prefix + "depthwise/depthwise_kernel")].shape[2]
        self.residual = stride == 1 and cin == W[prefix + "project/kernel"].shape[3]
    def forward(self, x):
        y = self.ops(x)
        return x + y if self.residual else y

def backbone():
    mods = [KerasPad(), conv("Conv1", stride=2), bn("bn_Conv1"), nn.ReLU6(), Block("expanded_conv_", False, 1)]
    for i in range(1, 17):
        mods.append(Block(f"block_{i}_", True, 2 if i in (1, 3, 6, 13) else 1))
    mods += [conv("Conv_1"), bn("Conv_1_bn"), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*mods)

# ---- data
meta = json.load(open(os.path.join(a.dir, "meta.json")))
n = meta["n"]
xs = torch.from_numpy(np.fromfile(os.path.join(a.dir, "xs.f32"), dtype=np.float32).reshape(n, 224, 224, 3)).permute(0, 3, 1, 2).contiguous()
ys = torch.tensor(meta["labels"])
fold = np.array(meta["fold"])
net = backbone().eval()
with torch.no_grad():
    f8 = net(xs[:8]).numpy().ravel()
ref = np.array(meta["feat8"], dtype=np.float32)
port_err = float(np.abs(f8 - ref).max())
print(json.dumps({"portCheck": "max |torch - tfjs| of 8 photos' pooled features", "maxAbsDiff": port_err, "maxAbs": float(np.abs(ref).max())}), flush=True)
assert port_err < 1e-3 * max(1.0, float(np.abs(ref).max())), "weight port does not match TF.js"

# ---- fastai one-cycle (fastai.callback.schedule: combined cosine phases), momentum cycled 0.95/0.85/0.95
def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2

def one_cycle(pos, lr_max, pct, div=25.0, div_final=1e5):
    if pos < pct:
        q = pos / pct
        return sched_cos(lr_max / div, lr_max, q), sched_cos(0.95, 0.85, q)
    q = (pos - pct) / (1 - pct)
    return sched_cos(lr_max, lr_max / div_final, q), sched_cos(0.85, 0.95, q)

def set_bn_eval(m):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.eval()

def make_opt(groups):  # fastai Adam: decoupled wd 0.01 (not on biases / norm params), betas (0.9, 0.99), eps 1e-5
    pg = []
    for params, scale in groups:
        dec = [q for q in params if q.dim() > 1]
        nod = [q for q in params if q.dim() <= 1]
        if dec: pg.append({"params": dec, "scale": scale, "weight_decay": 0.01})
        if nod: pg.append({"params": nod, "scale": scale, "weight_decay": 0.0})
    return torch.optim.AdamW(pg, lr=1e-3, betas=(0.9, 0.99), eps=1e-5)

def run_stage(model, opt, tr_idx, epochs, lr_max, pct, div, gen, features=None):
    total = epochs * math.ceil(len(tr_idx) / 32)
    it = 0
    for ep in range(epochs):
        perm = tr_idx[torch.randperm(len(tr_idx), generator=gen)]
        for i in range(0, len(perm), 32):
            idx = perm[i:i + 32]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            lr, mom = one_cycle(it / total, lr_max, pct, div)
            for g in opt.param_groups:
                g["lr"] = lr * g["scale"]; g["betas"] = (mom, 0.99)
            if features is not None:
                x = torch.where(flip[:, None], features[1][idx], features[0][idx])
            else:
                x = xs[idx].clone(); x[flip] = x[flip].flip(-1)
            loss = F.cross_entropy(model(x), ys[idx])
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
            it += 1

def accuracy(model, idx):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(xs[idx[i:i + 64]]).argmax(1) for i in range(0, len(idx), 64)])
    return int((pred == ys[idx]).sum())

# transferkit's layer groups (layerGroups(model, 3)): the second body group starts at block_K
# (meta.group1); the modules before it are Conv1's four, expanded_conv and blocks 1..K-1.
body_cut = 5 + int(meta["group1"].split("_")[1]) - 1
folds = [int(f) for f in a.folds.split(",")]
for seed in [int(s) for s in a.seeds.split(",")]:
    per, t0 = [], time.perf_counter()
    for f in folds:
        torch.manual_seed(seed * 100 + f)
        gen = torch.Generator().manual_seed(seed * 100 + f)
        tr = torch.from_numpy(np.nonzero(fold != f)[0]); va = torch.from_numpy(np.nonzero(fold == f)[0])
        body = backbone()
        head = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 2))
        nn.init.xavier_uniform_(head[1].weight); nn.init.zeros_(head[1].bias)  # Keras glorot_uniform / zeros
        model = nn.Sequential(body, head)
        b = list(body.children())
        cut = body_cut
        if a.bn == "frozen":
            # head stage: backbone frozen, BN in inference mode; features of both orientations computed once
            body.eval()
            with torch.no_grad():
                feats = (torch.cat([body(xs[i:i + 64]) for i in range(0, n, 64)]), torch.cat([body(xs[i:i + 64].flip(-1)) for i in range(0, n, 64)]))
            head.train()
            run_stage(head, make_opt([(list(head.parameters()), 1.0)]), tr, a.head_epochs, a.base_lr, 0.99, 25.0, gen, feats)
        else:
            # fastai's freeze() with train_bn=True: the body's BatchNorm layers stay trainable (and
            # update their statistics); slice(base_lr) gives the body groups base_lr / 10
            bns = lambda ms: [q for m in ms for mod in m.modules() if isinstance(mod, nn.BatchNorm2d) for q in mod.parameters()]
            model.train()
            run_stage(model, make_opt([(bns(b[:cut]), 0.1), (bns(b[cut:]), 0.1), (list(head.parameters()), 1.0)]), tr, a.head_epochs, a.base_lr, 0.99, 25.0, gen)
        if a.recipe == "fine-tune":
            # all layers: three groups (body below block_K, block_K to the pooling, head) at
            # slice(lr/2/100, lr/2): scales 0.01, 0.1, 1
            g0 = [q for m in b[:cut] for q in m.parameters()]
            g1 = [q for m in b[cut:] for q in m.parameters()]
            model.train()
            if a.bn == "frozen": set_bn_eval(model)
            run_stage(model, make_opt([(g0, 0.01), (g1, 0.1), (list(head.parameters()), 1.0)]), tr, a.epochs, a.base_lr / 2, 0.3, 5.0, gen)
        per.append(accuracy(model, va))
        print(json.dumps({"seed": seed, "fold": f, "correct": per[-1], "of": len(va)}), flush=True)
    nval = sum(int((fold == f).sum()) for f in folds)
    print(json.dumps({"framework": "pytorch", "version": torch.__version__, "recipe": a.recipe, "bn": a.bn, "headEpochs": a.head_epochs, "seed": seed, "perFold": per,
                      "valCorrect": sum(per), "valImages": nval, "valAccuracy": sum(per) / nval, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
