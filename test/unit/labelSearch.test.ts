/** Label scoring search: exact against brute force on synthetic next-token distributions. */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  LabelTrie,
  logSumExp,
  scoreFirstTokens,
  scoreLabels,
} from '../../src/core/pipelines/labelSearch';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { mulberry32 } from '../helpers/perturb';
import { answerCodes, answerSpace } from '../../src/core/pipelines/answerSpace';

const END = 0;
const VOCAB = 12;

/** A deterministic "language model": log-softmax of pseudo-random logits seeded by the context. */
function lm(seed: number) {
  return (context: number[]): number[] => {
    let h = seed;
    for (const t of context) h = (Math.imul(h ^ t, 2654435761) + 97) >>> 0;
    const rnd = mulberry32(h);
    const logits = Array.from({ length: VOCAB }, () => rnd() * 6);
    const z = logSumExp(logits);
    return logits.map((l) => l - z);
  };
}

function bruteForce(labels: number[][], model: (c: number[]) => number[]): number[] {
  return labels.map((toks) => {
    let lp = 0;
    for (let i = 0; i < toks.length; i++) lp += model(toks.slice(0, i))[toks[i]!]!;
    return lp + model(toks)[END]!;
  });
}

describe('label scoring search', () => {
  it('is exact for every label when the margin is infinite, and finds the brute-force argmax', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1e6 }),
        fc.array(fc.array(fc.integer({ min: 1, max: VOCAB - 1 }), { minLength: 1, maxLength: 4 }), {
          minLength: 2,
          maxLength: 8,
        }),
        async (seed, raw) => {
          const labels = [...new Map(raw.map((t) => [t.join(','), t])).values()];
          fc.pre(labels.length >= 2);
          const model = lm(seed);
          let calls = 0;
          const cont = async (path: number[], cands: number[][]) => {
            calls++;
            return cands.map((c, i) => c.map((t) => model(path.slice(0, i))[t]!));
          };
          const names = labels.map((l) => l.join('-'));
          const r = await scoreLabels(new LabelTrie(names, labels), [END], cont, Infinity);
          const exact = bruteForce(labels, model);
          r.scores.forEach((s, i) => {
            assert.ok(s.exact);
            assert.ok(Math.abs(s.logprob - exact[i]!) < 1e-9, `${s.logprob} vs ${exact[i]}`);
          });
          const best = exact.indexOf(Math.max(...exact));
          assert.equal(r.best.label, names[best]);
          assert.ok(Math.abs(r.scores.reduce((a, s) => a + s.probability, 0) - 1) < 1e-9);
          assert.ok(calls <= labels.length);
          // With margin 0 the argmax is still exact, usually with fewer evaluations.
          const r0 = await scoreLabels(new LabelTrie(names, labels), [END], cont, 0);
          assert.equal(r0.best.label, names[best]);
          assert.ok(Math.abs(r0.best.logprob - exact[best]!) < 1e-9);
          for (const s of r0.scores)
            if (!s.exact)
              assert.ok(
                s.logprob >= exact[names.indexOf(s.label)]! - 1e-9,
                'an unevaluated label keeps an upper bound',
              );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a label that is a prefix of another is scored with the end-of-answer probability', async () => {
    const model = lm(7);
    const labels = [[3], [3, 4]];
    const cont = async (path: number[], cands: number[][]) =>
      cands.map((c, i) => c.map((t) => model(path.slice(0, i))[t]!));
    const r = await scoreLabels(new LabelTrie(['a', 'ab'], labels), [END], cont, Infinity);
    const exact = bruteForce(labels, model);
    assert.ok(Math.abs(r.scores[0]!.logprob - exact[0]!) < 1e-12);
    assert.ok(Math.abs(r.scores[1]!.logprob - exact[1]!) < 1e-12);
  });
});

describe('answer space', () => {
  it('SemEval: X-Y for head→tail and Y-X for the reverse, mapping back exactly', () => {
    const s = answerSpace(SEMEVAL_RELATIONS, 'label');
    assert.equal(s.answers.length, 19);
    assert.deepEqual(s.decode('Cause-Effect'), { label: 'Cause-Effect', reversed: false });
    assert.deepEqual(s.decode('Effect-Cause'), { label: 'Cause-Effect', reversed: true });
    assert.deepEqual(s.decode('Producer-Product'), { label: 'Product-Producer', reversed: true });
    assert.equal(s.decode('Other'), null);
    assert.throws(() => s.decode('Cause'), /not in the answer space/);
  });
  it('falls back to (e1,e2)/(e2,e1) suffixes when roles cannot be swapped', () => {
    const s = answerSpace(
      {
        name: 'x',
        noRelation: 'no_relation',
        directed: true,
        labels: [{ name: 'works_for' }, { name: 'A-B' }],
      },
      'label',
    );
    assert.deepEqual(s.answers, [
      'works_for(e1,e2)',
      'works_for(e2,e1)',
      'A-B(e1,e2)',
      'A-B(e2,e1)',
      'no_relation',
    ]);
    assert.deepEqual(s.decode('works_for(e2,e1)'), { label: 'works_for', reversed: true });
  });
  it('pair direction: bare labels', () => {
    const s = answerSpace(
      {
        name: 'finre',
        noRelation: 'unknown',
        directed: true,
        labels: [{ name: '注资' }, { name: '拥有' }],
      },
      'pair',
    );
    assert.deepEqual(s.answers, ['注资', '拥有', 'unknown']);
  });
});

describe('answer codes', () => {
  it('first-token scoring reads one distribution and renormalises over the codes', async () => {
    const model = lm(5);
    const codes = [[3], [5], [7], [9]];
    const trie = new LabelTrie(['A', 'B', 'C', 'D'], codes);
    let calls = 0;
    const r = await scoreFirstTokens(trie, async (path, cands) => {
      calls++;
      assert.deepEqual(path, []);
      return cands.map((c) => c.map((t) => model([])[t]!));
    });
    assert.equal(calls, 1);
    assert.equal(r.evaluations, 1);
    const lps = codes.map(([t]) => model([])[t!]!);
    const z = logSumExp(lps);
    r.scores.forEach((s, i) => assert.ok(Math.abs(s.probability - Math.exp(lps[i]! - z)) < 1e-12));
    assert.equal(r.best.label, ['A', 'B', 'C', 'D'][lps.indexOf(Math.max(...lps))]);
    await assert.rejects(
      scoreFirstTokens(new LabelTrie(['A', 'AB'], [[3], [3, 4]]), async () => [[0]]),
      /start with different tokens/,
    );
  });

  it('codes map to the answer space both ways and list the relation names', () => {
    const space = answerSpace(SEMEVAL_RELATIONS, 'label');
    const c = answerCodes(space);
    assert.equal(c.codes.length, space.answers.length);
    assert.equal(new Set(c.codes).size, c.codes.length);
    for (const a of space.answers) assert.equal(c.answerOf.get(c.codeOf.get(a)!), a);
    assert.match(c.relations[0]!.description, new RegExp(`^${space.answers[0]}`));
    assert.equal(c.relations[0]!.name, 'A');
  });
});
