/**
 * Optimizers with PyTorch's exact update rules, parameter groups, and a momentum knob that
 * schedules (fastai's one-cycle) can drive.
 *
 * Why not TF.js's optimizers: TF.js has no AdamW (decoupled weight decay), no per-group learning
 * rates, and its Adam folds beta1 into a running product at every step, so a cycled beta1 (fastai
 * moves it 0.95 -> 0.85 -> 0.95) does not give PyTorch's/fastai's bias correction `1 - beta1^t`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';

/** A set of variables that share a learning-rate scale and a weight decay. */
export interface ParamGroup {
  /** The variables this group updates. */
  params: tf.Variable[];
  /** Multiplier on the optimizer's (scheduled) learning rate (default 1). */
  lrScale?: number;
  /** Weight decay of this group (default: the optimizer's). */
  weightDecay?: number;
  /** A label for logs (e.g. 'head', 'block_16'). */
  name?: string;
}

/** A group after defaults are applied. */
export interface ResolvedParamGroup {
  params: tf.Variable[];
  lrScale: number;
  weightDecay: number;
  name: string;
}

/** Serialisable optimizer state (for checkpoints). */
export interface OptimizerState {
  className: string;
  learningRate: number;
  momentum: number | undefined;
  /** Per variable name: its step count and slot values. */
  slots: Record<string, { step: number; values: Record<string, number[]> }>;
  /** Per group: its learning-rate scale (groups may be re-scaled during training). */
  groups?: { name: string; lrScale: number }[];
}

/** Base class: holds groups, per-variable steps and slots; subclasses implement `update`. */
export abstract class Optimizer {
  readonly groups: ResolvedParamGroup[];
  protected lr: number;
  private readonly defaultWeightDecay: number;
  private readonly steps = new Map<string, number>();
  private readonly slotVars = new Map<string, Map<string, tf.Variable>>();

  protected constructor(params: tf.Variable[] | ParamGroup[], learningRate: number, weightDecay: number) {
    if (!(learningRate >= 0)) throw new TransferKitError('E_BAD_OPTION', `${this.constructor.name}: learningRate must be >= 0. Received: learningRate=${learningRate}.`);
    if (!(weightDecay >= 0)) throw new TransferKitError('E_BAD_OPTION', `${this.constructor.name}: weightDecay must be >= 0. Received: weightDecay=${weightDecay}.`);
    const groups: ParamGroup[] = params.length > 0 && params[0] instanceof tf.Variable ? [{ params: params as tf.Variable[] }] : (params as ParamGroup[]);
    const seen = new Set<string>();
    this.groups = groups.map((g, i) => {
      for (const p of g.params) {
        if (seen.has(p.name)) throw new TransferKitError('E_BAD_OPTION', `Variable '${p.name}' appears in two parameter groups; each variable must belong to exactly one.`);
        seen.add(p.name);
      }
      return { params: g.params, lrScale: g.lrScale ?? 1, weightDecay: g.weightDecay ?? weightDecay, name: g.name ?? `group_${i}` };
    });
    this.lr = learningRate;
    this.defaultWeightDecay = weightDecay;
  }

  /**
   * Adds a parameter group mid-training (as PyTorch `add_param_group`, used by Lightning's
   * `unfreeze_and_add_param_group`). Variables already handled by this optimizer are skipped, so
   * their state is kept. Returns the added group (null when nothing was new).
   */
  addParamGroup(group: ParamGroup): ResolvedParamGroup | null {
    const known = new Set(this.variables.map((v) => v.name));
    const params = group.params.filter((p) => !known.has(p.name));
    if (params.length === 0) return null;
    const resolved: ResolvedParamGroup = { params, lrScale: group.lrScale ?? 1, weightDecay: group.weightDecay ?? this.defaultWeightDecay, name: group.name ?? `group_${this.groups.length}` };
    this.groups.push(resolved);
    return resolved;
  }

  /** The group named `name`, if any. */
  group(name: string): ResolvedParamGroup | undefined {
    return this.groups.find((g) => g.name === name);
  }

  /** The base learning rate (each group uses it times its `lrScale`). */
  get learningRate(): number {
    return this.lr;
  }

  /** Sets the base learning rate used from the next step on. */
  setLearningRate(lr: number): void {
    this.lr = lr;
  }

  /** The current momentum (Adam's beta1, SGD's/RMSprop's momentum), if the optimizer has one. */
  abstract get momentum(): number | undefined;

  /** Sets the momentum used from the next step on (what one-cycle schedules cycle). */
  abstract setMomentum(m: number): void;

  /** The variables of every group. */
  get variables(): tf.Variable[] {
    return this.groups.flatMap((g) => g.params);
  }

  /**
   * Applies one update from `grads` (keyed by variable name, as `tf.variableGrads` returns).
   * Variables without a gradient are left alone (and their step count does not advance), as
   * PyTorch skips parameters whose `.grad` is None.
   */
  step(grads: tf.NamedTensorMap): void {
    for (const group of this.groups) {
      const lr = this.lr * group.lrScale;
      for (const v of group.params) {
        const g = grads[v.name];
        if (g === undefined) continue;
        const t = (this.steps.get(v.name) ?? 0) + 1;
        this.steps.set(v.name, t);
        tf.tidy(() => this.update(v, g, lr, group.weightDecay, t));
      }
    }
  }

  /** One parameter's update at its step `t` (1-based). Runs inside a tidy. */
  protected abstract update(v: tf.Variable, g: tf.Tensor, lr: number, weightDecay: number, t: number): void;

  /** A named state slot of `v`, created as zeros on first use. */
  protected slot(v: tf.Variable, name: string): tf.Variable {
    let slots = this.slotVars.get(v.name);
    if (slots === undefined) {
      slots = new Map();
      this.slotVars.set(v.name, slots);
    }
    let s = slots.get(name);
    if (s === undefined) {
      s = tf.keep(tf.variable(tf.zerosLike(v), false, `${v.name}/${name}`));
      slots.set(name, s);
    }
    return s;
  }

  /** True when `v` already has slot `name` (PyTorch initialises some buffers from the first gradient). */
  protected hasSlot(v: tf.Variable, name: string): boolean {
    return this.slotVars.get(v.name)?.has(name) ?? false;
  }

  /**
   * Everything a resumed run needs: learning rate, momentum, per-variable steps and slots.
   * Asynchronous because the slots are read back from the device (WebGPU cannot read synchronously).
   */
  async getState(): Promise<OptimizerState> {
    const slots: OptimizerState['slots'] = {};
    for (const v of this.variables) {
      const values: Record<string, number[]> = {};
      for (const [name, s] of this.slotVars.get(v.name) ?? []) values[name] = Array.from(await s.data());
      slots[v.name] = { step: this.steps.get(v.name) ?? 0, values };
    }
    return { className: this.constructor.name, learningRate: this.lr, momentum: this.momentum, slots, groups: this.groups.map((g) => ({ name: g.name, lrScale: g.lrScale })) };
  }

  /** Restores {@link Optimizer.getState} (the variables must have the same names and shapes). */
  setState(state: OptimizerState): void {
    this.lr = state.learningRate;
    if (state.momentum !== undefined) this.setMomentum(state.momentum);
    for (const g of state.groups ?? []) {
      const mine = this.group(g.name);
      if (mine !== undefined) mine.lrScale = g.lrScale;
    }
    for (const v of this.variables) {
      const s = state.slots[v.name];
      if (s === undefined) continue;
      this.steps.set(v.name, s.step);
      for (const [name, values] of Object.entries(s.values)) {
        if (values.length !== v.size) {
          throw new TransferKitError('E_BAD_OPTION', `Optimizer state for '${v.name}/${name}' has ${values.length} values; the variable has ${v.size}. The checkpoint belongs to another model.`);
        }
        // In a tidy: the uploaded values and a newly created slot's zeros are intermediates.
        tf.tidy(() => this.slot(v, name).assign(tf.tensor(values, v.shape, 'float32')));
      }
    }
  }

  /** Frees the slot variables. */
  dispose(): void {
    for (const slots of this.slotVars.values()) for (const s of slots.values()) s.dispose();
    this.slotVars.clear();
  }
}
