/**
 * `transferkit/peft`: Parameter-efficient fine-tuning: LoRA adapters on any model's Dense layers (as PEFT), merged back exactly.
 * @packageDocumentation
 */
export { applyLoRA, mergeLoRA, hasLoRA, loraDelta, type LoRAOptions, type LoRAReport } from '../peft/lora.js';
