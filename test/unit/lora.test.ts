/** LoRA adapters on a tiny random-weight llama model generated here (GGUF writer in test/fixtures). */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EnginePool, LlamaEngine } from '../../src/engine/llama';
import { TensorType, llamaModel, loraAdapter, writeGguf } from '../fixtures/gguf';

const SHAPE = { vocab: 259, embd: 64, layers: 2, ff: 128, heads: 4, headsKv: 2, context: 256 };

describe('LoRA adapters (tiny random llama model)', () => {
  let dir: string;
  let model: string;
  let adapter: string;
  let otherShape: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rl-lora-'));
    model = path.join(dir, 'tiny.gguf');
    adapter = path.join(dir, 'tiny-lora.gguf');
    otherShape = path.join(dir, 'other-lora.gguf');
    const m = llamaModel(SHAPE, TensorType.F32, 1);
    await writeGguf(model, m.metadata, m.tensors);
    const l = loraAdapter(SHAPE, 4, 8, 99);
    await writeGguf(adapter, l.metadata, l.tensors);
    const o = loraAdapter({ ...SHAPE, embd: 32, heads: 2 }, 4, 8, 5);
    await writeGguf(otherShape, o.metadata, o.tensors);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function logprobs(loras: Array<{ path: string; scale: number }>): Promise<number[]> {
    const engine = await LlamaEngine.open({ modelPath: model, loras, contextSize: 256 });
    try {
      return await engine.withPrompt(
        { user: 'hello world' },
        async (s) => (await s.continuation([], [[10, 20, 30, 40, 50]]))[0]!,
      );
    } finally {
      await engine.dispose();
    }
  }

  it('scale 0 leaves the log-probabilities unchanged; scale 1 changes them', async () => {
    const base = await logprobs([]);
    const zero = await logprobs([{ path: adapter, scale: 0 }]);
    const one = await logprobs([{ path: adapter, scale: 1 }]);
    assert.ok(base.every((x) => Number.isFinite(x)));
    assert.deepEqual(zero, base);
    const diff = Math.max(...one.map((x, i) => Math.abs(x - base[i]!)));
    assert.ok(diff > 1e-3, `scale 1 changed the log-probabilities by ${diff}`);
  });

  it('an adapter made for another model shape is refused with a clear message', async () => {
    await assert.rejects(
      LlamaEngine.open({
        modelPath: model,
        loras: [{ path: otherShape, scale: 1 }],
        contextSize: 256,
      }),
      /cannot apply LoRA adapter\(s\) .*other-lora\.gguf/,
    );
  });

  it('contexts are kept per (model, adapter set) and reused', async () => {
    const pool = new EnginePool(2);
    try {
      const a = await pool.get({ modelPath: model, contextSize: 256 });
      const b = await pool.get({
        modelPath: model,
        loras: [{ path: adapter, scale: 1 }],
        contextSize: 256,
      });
      assert.notEqual(a, b);
      assert.equal(await pool.get({ modelPath: model, contextSize: 256 }), a);
      assert.equal(
        await pool.get({
          modelPath: model,
          loras: [{ path: adapter, scale: 1 }],
          contextSize: 256,
        }),
        b,
      );
      assert.equal(pool.size, 2);
      const c = await pool.get({
        modelPath: model,
        loras: [{ path: adapter, scale: 0.5 }],
        contextSize: 256,
      });
      assert.notEqual(c, a);
      assert.equal(pool.size, 2, 'the least recently used engine was disposed');
    } finally {
      await pool.dispose();
    }
  });
});
