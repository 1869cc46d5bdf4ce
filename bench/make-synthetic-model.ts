/**
 * Writes a synthetic model with the shape of a 0.5B instruction model (Qwen2.5-0.5B's layout:
 * 24 layers, 896 wide, 4864 FFN, 14 heads, 2 KV heads), random Q8_0 weights, and the real
 * tokenizer and chat template copied from SmolLM2-135M-Instruct — for realistic performance
 * numbers (its answers are noise). Usage: npx tsx bench/make-synthetic-model.ts [OUT.gguf]
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { TensorType, llamaModel, readGgufMetadata, writeGguf } from '../test/fixtures/gguf';

const ROOT = path.resolve(__dirname, '..');
const SOURCE = path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
export const SYNTHETIC = path.join(ROOT, '.cache', 'models', 'synthetic-0.5b-q8_0.gguf');

export async function makeSyntheticModel(out = SYNTHETIC): Promise<string> {
  if (existsSync(out)) return out;
  if (!existsSync(SOURCE))
    throw new Error(`${SOURCE} is missing: run python3 scripts/fetch_test_model.py first`);
  const tokenizer = await readGgufMetadata(SOURCE);
  const m = llamaModel(
    { vocab: 0, embd: 896, layers: 24, ff: 4864, heads: 14, headsKv: 2, context: 4096 },
    TensorType.Q8_0,
    7,
    tokenizer,
  );
  await writeGguf(out, m.metadata, m.tensors);
  return out;
}

if (require.main === module) {
  const t0 = Date.now();
  makeSyntheticModel(process.argv[2]).then((f) =>
    console.log(`${f} (${((Date.now() - t0) / 1000).toFixed(1)} s)`),
  );
}
