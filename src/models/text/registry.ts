/** The BERT-family architectures transferkit builds, by HF `model_type`. */
import { TransferKitError } from '../../errors.js';
import { BERT } from './bert/model.js';
import { DISTILBERT } from './distilbert/model.js';
import type { TextFamilySpec } from './family.js';
import { ROBERTA } from './roberta/model.js';
import type { TextFamily } from './text_model.js';

export const TEXT_FAMILIES: Readonly<Record<TextFamily, TextFamilySpec>> = { bert: BERT, distilbert: DISTILBERT, roberta: ROBERTA };

/** The family of `modelType`, or a clear error listing the supported ones. */
export function textFamily(modelType: unknown, file = 'config.json'): TextFamilySpec {
  // An own key only: "constructor" or "__proto__" in a config.json must not reach Object.prototype.
  const f = typeof modelType === 'string' && Object.prototype.hasOwnProperty.call(TEXT_FAMILIES, modelType) ? TEXT_FAMILIES[modelType as TextFamily] : undefined;
  if (f === undefined) throw new TransferKitError('E_NOT_IMPLEMENTED', `${file}: model_type ${JSON.stringify(modelType)} is not supported. Supported text families: ${Object.keys(TEXT_FAMILIES).join(', ')}.`);
  return f;
}
