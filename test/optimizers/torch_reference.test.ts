/**
 * transferkit's optimizers follow torch.optim step for step: same initial parameters, same data,
 * 5 steps, parameters compared after every run (1e-5 relative). The PyTorch side runs the real
 * torch.optim classes under /usr/bin/python3; skipped (with the reason) when torch is absent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/index.js';
import { Adam, AdamW, clipGradNorm, RMSprop, SGD, type Optimizer, type ParamGroup } from '../../src/entries/optimizers.js';
import { relErr } from '../helpers/compare.js';
import { runPython, torchAvailable } from '../helpers/torch.js';

const W0 = Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * 0.5);
const B0 = [0.1, -0.2, 0.3, 0.05];
const X = Array.from({ length: 5 * 3 }, (_, i) => Math.cos(i * 0.7));
const Y = Array.from({ length: 5 * 4 }, (_, i) => Math.sin(i * 0.3));

interface Case {
  name: string;
  /** torch constructor call over `groups` (Python source). */
  torch: string;
  make: (groups: ParamGroup[]) => Optimizer;
  /** Different lr per group (the bias gets `scale` x the weight's rate). */
  scale?: number;
  /** beta1 / momentum to set before each step (cycled like one-cycle). */
  moms?: number[];
  clip?: number;
}

const SCRIPT = `
import json, sys, torch
torch.set_default_dtype(torch.float64)
c = json.load(sys.stdin)
W = torch.tensor(c['W0']).reshape(3, 4).requires_grad_()
b = torch.tensor(c['B0']).requires_grad_()
X = torch.tensor(c['X']).reshape(5, 3); Y = torch.tensor(c['Y']).reshape(5, 4)
lr = c['lr']
groups = [{'params': [W]}, {'params': [b], 'lr': lr * c['scale']}]
opt = eval(c['torch'], {'torch': torch, 'groups': groups, 'lr': lr})
for i in range(5):
    if c['moms']:
        for g in opt.param_groups:
            if 'betas' in g: g['betas'] = (c['moms'][i], g['betas'][1])
            else: g['momentum'] = c['moms'][i]
    opt.zero_grad()
    loss = (((X @ W + b) - Y) ** 2).sum()
    loss.backward()
    if c['clip']: torch.nn.utils.clip_grad_norm_([W, b], c['clip'])
    opt.step()
print(json.dumps({'W': W.detach().reshape(-1).tolist(), 'b': b.detach().tolist()}))
`;

const LR = 0.05;
const CASES: Case[] = [
  { name: 'Adam', torch: 'torch.optim.Adam(groups, lr=lr)', make: (g) => new Adam(g, { learningRate: LR }) },
  { name: 'Adam + L2 weight decay, per-group lr', torch: 'torch.optim.Adam(groups, lr=lr, weight_decay=0.1)', make: (g) => new Adam(g, { learningRate: LR, weightDecay: 0.1 }), scale: 0.1 },
  { name: 'AdamW (decoupled), betas and eps', torch: 'torch.optim.AdamW(groups, lr=lr, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3)', make: (g) => new AdamW(g, { learningRate: LR, betas: [0.8, 0.99], epsilon: 1e-6, weightDecay: 0.3 }) },
  { name: 'AdamW with beta1 cycled every step (one-cycle momentum)', torch: 'torch.optim.AdamW(groups, lr=lr)', make: (g) => new AdamW(g, { learningRate: LR }), moms: [0.95, 0.9, 0.85, 0.9, 0.95] },
  { name: 'SGD', torch: 'torch.optim.SGD(groups, lr=lr)', make: (g) => new SGD(g, { learningRate: LR }) },
  { name: 'SGD momentum + dampening + weight decay', torch: 'torch.optim.SGD(groups, lr=lr, momentum=0.9, dampening=0.1, weight_decay=0.01)', make: (g) => new SGD(g, { learningRate: LR, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }), scale: 3 },
  { name: 'SGD Nesterov, cycled momentum', torch: 'torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)', make: (g) => new SGD(g, { learningRate: LR, momentum: 0.9, nesterov: true }), moms: [0.9, 0.85, 0.8, 0.85, 0.9] },
  { name: 'RMSprop', torch: 'torch.optim.RMSprop(groups, lr=lr)', make: (g) => new RMSprop(g, { learningRate: LR }) },
  { name: 'RMSprop centered + momentum + weight decay', torch: 'torch.optim.RMSprop(groups, lr=lr, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.05)', make: (g) => new RMSprop(g, { learningRate: LR, alpha: 0.9, momentum: 0.5, centered: true, weightDecay: 0.05 }) },
  { name: 'Adam with clip_grad_norm_(1.0)', torch: 'torch.optim.Adam(groups, lr=lr)', make: (g) => new Adam(g, { learningRate: LR }), clip: 1 },
];

beforeAll(async () => {
  await useBackend('cpu');
});

describe('optimizers match torch.optim over 5 steps', () => {
  for (const c of CASES) {
    it(c.name, async (ctx) => {
      if (!(await torchAvailable())) return ctx.skip();
      const ref = await runPython<{ W: number[]; b: number[] }>(SCRIPT, { W0, B0, X, Y, lr: LR, scale: c.scale ?? 1, torch: c.torch, moms: c.moms ?? null, clip: c.clip ?? null });
      const W = tf.variable(tf.tensor2d(W0, [3, 4]), true, `W_${c.name}`);
      const b = tf.variable(tf.tensor1d(B0), true, `b_${c.name}`);
      const x = tf.tensor2d(X, [5, 3]);
      const y = tf.tensor2d(Y, [5, 4]);
      const opt = c.make([{ params: [W] }, { params: [b], lrScale: c.scale ?? 1 }]);
      for (let i = 0; i < 5; i++) {
        if (c.moms) opt.setMomentum(c.moms[i]);
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.sub(tf.add(tf.matMul(x, W), b), y))) as tf.Scalar, [W, b]);
        const clipped = c.clip ? clipGradNorm(grads, c.clip) : null;
        const used = clipped?.grads ?? grads;
        opt.step(used);
        tf.dispose([...Object.values(grads), ...(clipped ? [...Object.values(clipped.grads), clipped.totalNorm] : [])]);
      }
      expect(relErr(ref.W, W.dataSync())).toBeLessThan(1e-5);
      expect(relErr(ref.b, b.dataSync())).toBeLessThan(1e-5);
      opt.dispose();
    });
  }
});

describe('optimizer state', () => {
  it('getState/setState resumes exactly (a JSON round trip mid-run)', async () => {
    const run = async (resumeAt: number | null) => {
      const W = tf.variable(tf.tensor2d(W0, [3, 4]));
      let opt = new AdamW([W], { learningRate: LR });
      const x = tf.tensor2d(X, [5, 3]);
      const y = tf.tensor2d(Y.slice(0, 20), [5, 4]);
      for (let i = 0; i < 6; i++) {
        if (i === resumeAt) {
          const saved = JSON.parse(JSON.stringify(await opt.getState()));
          opt.dispose();
          opt = new AdamW([W], { learningRate: 999 });
          opt.setState(saved);
        }
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.sub(tf.matMul(x, W), y))) as tf.Scalar, [W]);
        opt.step(grads);
        tf.dispose(Object.values(grads));
      }
      return Array.from(W.dataSync());
    };
    expect(await run(3)).toEqual(await run(null));
  });

  it('rejects a variable in two groups, and bad hyper-parameters, naming them', () => {
    const v = tf.variable(tf.zeros([2]));
    expect(() => new SGD([{ params: [v] }, { params: [v] }])).toThrow(/appears in two parameter groups/);
    expect(() => new SGD([v], { nesterov: true })).toThrow(/Nesterov/);
    expect(() => new Adam([v], { betas: [1.2, 0.9] })).toThrow(/betas\[0\]/);
    expect(() => clipGradNorm({}, 0)).toThrow(/maxNorm/);
  });
});
