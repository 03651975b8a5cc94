"""PyTorch's figure for bench/bert-throughput.ts: one fine-tuning step (forward, cross-entropy,
backward, clip at 1.0, AdamW) of a BERT classifier of the given size, built from stock torch.nn
modules (nn.Embedding x3 + LayerNorm, nn.TransformerEncoderLayer post-LN GELU, tanh pooler,
classifier) — the same computation transferkit's BERT runs. Prints one JSON line.

Usage: /usr/bin/python3 bench/torch_bert.py --layers 2 --hidden 128 --heads 2 [--seq 128 --batch 32 --threads 1]
"""
import argparse, json, statistics, time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, required=True)
p.add_argument("--hidden", type=int, required=True)
p.add_argument("--heads", type=int, required=True)
p.add_argument("--vocab", type=int, default=30522)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        h = a.hidden
        self.word, self.pos, self.typ = nn.Embedding(a.vocab, h), nn.Embedding(512, h), nn.Embedding(2, h)
        self.ln, self.drop = nn.LayerNorm(h, eps=1e-12), nn.Dropout(0.1)
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(h, a.heads, 4 * h, dropout=0.1, activation="gelu", layer_norm_eps=1e-12, batch_first=True) for _ in range(a.layers)])
        self.pooler, self.clf = nn.Linear(h, h), nn.Linear(h, 2)

    def forward(self, ids, types, pad):
        x = self.drop(self.ln(self.word(ids) + self.pos(torch.arange(ids.shape[1]))[None] + self.typ(types)))
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=pad)
        return self.clf(self.drop(torch.tanh(self.pooler(x[:, 0]))))


model = Bert().train()
decay = [p for n, p in model.named_parameters() if p.dim() > 1]
no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=2e-5)
ids = torch.randint(5, a.vocab, (a.batch, a.seq))
types = torch.zeros_like(ids)
pad = torch.zeros(a.batch, a.seq, dtype=torch.bool)
y = torch.randint(0, 2, (a.batch,))


def step():
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(ids, types, pad), y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


step(); step()
times = []
for _ in range(a.steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
sec = statistics.median(times)
# The BLAS behind nn.Linear decides this figure: report its GEMM rate on a Dense-sized product
# (Debian's python3-torch is built with BLAS_INFO=generic, the reference BLAS).
x, w = torch.randn(a.batch * a.seq, a.hidden), torch.randn(a.hidden, 4 * a.hidden)
x @ w
t0 = time.perf_counter()
for _ in range(5):
    x @ w
gemm = 2 * x.shape[0] * a.hidden * 4 * a.hidden / ((time.perf_counter() - t0) / 5) / 1e9
blas = [l.split("BLAS_INFO=")[1].split(",")[0] for l in torch.__config__.show().split("\n") if "BLAS_INFO=" in l]
params = sum(p.numel() for p in model.parameters())
print(json.dumps({"framework": "pytorch", "torch": torch.__version__, "layers": a.layers, "hidden": a.hidden, "seq": a.seq, "batch": a.batch,
                  "threads": a.threads, "params": params, "samplesPerSec": round(a.batch / sec, 2), "stepSeconds": round(sec, 3),
                  "gemmGflops": round(gemm, 1), "blas": blas[0] if blas else "unknown"}))
