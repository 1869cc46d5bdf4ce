/** What the fine-tuning benches share: paths (datasets, the SmolLM2 base, the trainer's venv) and flags. */
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const DATASETS = path.resolve(ROOT, '..', 'shared', 'datasets');
export const MODEL =
  process.env['RELATION_LENS_MODEL'] ??
  path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
export const VENV =
  process.env['RELATION_LENS_TRAINER_VENV'] ?? path.join(ROOT, '.cache', 'trainer-venv');

/** The value after `name` on the command line, else `dflt`. */
export const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
