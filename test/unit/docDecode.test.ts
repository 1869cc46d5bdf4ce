/**
 * The decoding walk of document answers (docDecode.ts) on real GGUF models: a tiny random-weight
 * llama written here (its byte vocabulary branches at every character) and SmolLM2-135M when pip
 * can fetch it. The engine's `continuation` is watched, not replaced: every call the walk makes
 * is checked to be a real choice, and the choice the argmax of what the model returned.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PromptSession, TokenId } from '../../src/core/ports';
import { LineTokens, answerLine, walkAnswer } from '../../src/core/pipelines/docDecode';
import { LlamaEngine } from '../../src/engine/llama';
import { TensorType, llamaModel, writeGguf } from '../fixtures/gguf';
import { smolLM2 } from '../helpers/models';

const ANSWERS = ['place of birth', 'employer', 'located in', 'country', 'None'];
const PAIRS: Array<[string, string]> = [
  ['Alice Smith', 'Paris'],
  ['Alice Smith', 'Acme Corp'],
  ['Acme Corp', 'London'],
];
const PROMPT = {
  user: 'Alice Smith was born in Paris. She works for Acme Corp, based in London.\nPairs: (Alice Smith, Paris), (Alice Smith, Acme Corp), (Acme Corp, London)\nAnswer one line (head| relation| tail) per pair.',
};

interface Call {
  path: TokenId[];
  candidates: TokenId[];
  logprobs: number[];
}

/** The session with its continuation watched: every call's path, last-position candidates and answer. */
function watched(s: PromptSession, calls: Call[]): Pick<PromptSession, 'continuation'> {
  return {
    continuation: async (p, cands) => {
      const out = await s.continuation(p, cands);
      // The walk asks about the last position only; earlier ones are empty (reused from the cache).
      cands.slice(0, -1).forEach((c) => assert.equal(c.length, 0));
      calls.push({ path: [...p], candidates: cands[p.length]!, logprobs: out[p.length]! });
      return out;
    },
  };
}

/** Lines of an answer, as [head, relation, tail]. */
const parse = (text: string): string[][] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^\((.*)\| (.*)\| (.*)\)$/.exec(l);
      assert.ok(m, `a readable line: ${JSON.stringify(l)}`);
      return [m[1]!, m[2]!, m[3]!];
    });

describe('document answers: the decoding walk', function () {
  this.timeout(120_000);
  let dir: string;
  let engine: LlamaEngine;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rl-walk-'));
    const m = llamaModel(
      { vocab: 259, embd: 64, layers: 2, ff: 128, heads: 4, headsKv: 2, context: 4096 },
      TensorType.F32,
      11,
    );
    await writeGguf(path.join(dir, 'tiny.gguf'), m.metadata, m.tensors);
    engine = await LlamaEngine.open({
      modelPath: path.join(dir, 'tiny.gguf'),
      contextSize: 2048,
      threads: 2,
    });
  });
  after(async () => {
    await engine?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Walks PAIRS on a model; checks each call was a choice and the walk took its argmax. */
  async function walkChecked(e: LlamaEngine, maxPer: number, maxTokens = 1000) {
    const calls: Call[] = [];
    const lines = new LineTokens(e);
    const r = await e.withPrompt(
      PROMPT,
      (s) =>
        walkAnswer(watched(s, calls), lines, {
          pairs: PAIRS,
          answers: ANSWERS,
          maxPerPair: maxPer,
          maxTokens,
        }),
      undefined,
      maxTokens,
    );
    assert.equal(r.evaluations, calls.length);
    // The answer's tokens, as the walk put them together (chosen and forced).
    const answerTokens = (
      await Promise.all(parse(r.text).map(([h, rel, t]) => lines.get(answerLine(h!, rel!, t!))))
    ).flat();
    // Cut at the token limit, the last calls were about a line the text leaves out.
    if (!r.truncated) checkCalls(calls, answerTokens, e.endTokens);
    return { r, calls, answerTokens };
  }

  function checkCalls(calls: Call[], answerTokens: TokenId[], endTokens: TokenId[]) {
    calls.forEach((c, i) => {
      assert.ok(new Set(c.candidates).size >= 2, `call ${i} is a choice between tokens`);
      assert.deepEqual(
        c.path,
        answerTokens.slice(0, c.path.length),
        'the path is the answer so far',
      );
      let best = 0;
      c.logprobs.forEach((lp, j) => {
        if (lp > c.logprobs[best]!) best = j;
      });
      const picked = c.candidates[best]!;
      if (endTokens.includes(picked)) {
        assert.equal(c.path.length, answerTokens.length, 'the end, chosen: nothing follows');
      } else {
        assert.equal(answerTokens[c.path.length], picked, `call ${i}: the walk took the argmax`);
      }
    });
  }

  it('one line per pair, in order, a relation from the set each; only branch points are asked', async () => {
    const { r, calls, answerTokens } = await walkChecked(engine, 1);
    const lines = parse(r.text);
    assert.deepEqual(
      lines.map(([h, , t]) => [h, t]),
      PAIRS,
    );
    for (const [, rel] of lines) assert.ok(ANSWERS.includes(rel!), rel);
    assert.equal(r.truncated, false);
    assert.equal(r.tokens, answerTokens.length);
    // Byte tokens: the names and brackets are forced, so far fewer calls than answer tokens.
    assert.ok(calls.length > 0 && calls.length < answerTokens.length / 2, `${calls.length} calls`);
  });

  it('up to maxPer lines per pair: a pair may answer twice, every pair still answers, the end is a choice', async () => {
    const { r } = await walkChecked(engine, 2);
    const lines = parse(r.text);
    const order = lines.map(([h, , t]) => PAIRS.findIndex(([a, b]) => a === h && b === t));
    assert.ok(!order.includes(-1));
    assert.deepEqual([...new Set(order)], [0, 1, 2], 'every pair, in order');
    for (let i = 0; i < 3; i++) {
      const n = order.filter((o) => o === i).length;
      assert.ok(n >= 1 && n <= 2, `pair ${i}: ${n} line(s)`);
    }
  });

  it('stops at the token limit and says so', async () => {
    const full = await walkChecked(engine, 1);
    const cut = await walkChecked(engine, 1, Math.floor(full.r.tokens / 2));
    assert.equal(cut.r.truncated, true);
    assert.ok(cut.r.text.length < full.r.text.length);
    assert.ok(full.r.text.startsWith(cut.r.text), 'the lines before the cut are the same');
  });

  it('SmolLM2 (a BPE vocabulary): readable lines for every pair, the argmax at each choice', async function () {
    const smol = await LlamaEngine.open({ modelPath: smolLM2(this), contextSize: 2048 });
    try {
      const { r, calls, answerTokens } = await walkChecked(smol, 2);
      const pairs = [...new Set(parse(r.text).map(([h, , t]) => `${h}|${t}`))];
      assert.deepEqual(
        pairs,
        PAIRS.map(([h, t]) => `${h}|${t}`),
      );
      assert.ok(calls.length < answerTokens.length, `${calls.length} of ${answerTokens.length}`);
    } finally {
      await smol.dispose();
    }
  });
});
