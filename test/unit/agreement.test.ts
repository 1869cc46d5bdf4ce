/**
 * Inter-annotator agreement (src/core/eval/agreement.ts, `relation-lens agreement`): kappa
 * against hand-computed cases (scikit-learn's on generated data: test/contract/agreement.test.ts),
 * relation F1 per relation, pairs pending review left out, and the adjudication file.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cohenKappa, fleissKappa } from '../../src/core/eval/agreement';
import { RelRecord } from '../../src/core/schema';
import { cli, ensureBuilt, jsonl, sampleRecords, tmp } from '../helpers/cli';

const sample = sampleRecords;

describe('inter-annotator agreement', function () {
  this.timeout(60_000);

  it("Cohen's kappa: the textbook 2×2 case (20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no) is 0.4", () => {
    const x = [...Array(25).fill('yes'), ...Array(25).fill('no')] as string[];
    const y = [
      ...Array(20).fill('yes'),
      ...Array(5).fill('no'),
      ...Array(10).fill('yes'),
      ...Array(15).fill('no'),
    ] as string[];
    const k = cohenKappa(x, y);
    assert.equal(k.observed, 0.7);
    assert.equal(k.expected, 0.5);
    assert.ok(Math.abs(k.kappa - 0.4) < 1e-12, String(k.kappa));
    assert.equal(cohenKappa(['a', 'a'], ['a', 'a']).kappa, 1, 'one category, full agreement');
  });

  it("Fleiss' kappa: the 10 subjects × 14 raters × 5 categories example is 0.210", () => {
    const counts = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    const k = fleissKappa(counts);
    assert.equal(k.kappa.toFixed(3), '0.210');
    assert.equal(k.observed.toFixed(3), '0.378');
    assert.equal(k.expected.toFixed(3), '0.213');
    assert.throws(
      () =>
        fleissKappa([
          [1, 1],
          [1, 2],
        ]),
      /same number/,
    );
  });

  it('agreement A B: kappa, F1 and per-relation counts on the pairs both decided, worked by hand; -o writes the disputed records side by side', () => {
    ensureBuilt();
    const dir = tmp('rl-agree-');
    const a = sample();
    const b = sample();
    const rel = (r: RelRecord) => r.relations[0]!;
    rel(b[1]!).label = 'Member-Collection'; // semeval-2: another label
    b[2]!.relations = []; // semeval-3: no relation
    [rel(b[3]!).head, rel(b[3]!).tail] = [rel(b[3]!).tail, rel(b[3]!).head]; // semeval-4: reversed
    b[9]!.relations = [{ head: 'e1', tail: 'e2', label: 'Other', source: 'human' }]; // = none
    // semeval-12: a prediction pending review in B: the pair is left out.
    b[11]!.relations.push({ head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'model' });
    const fa = path.join(dir, 'ann-a.jsonl');
    const fb = path.join(dir, 'ann-b.jsonl');
    writeFileSync(fa, jsonl(a));
    writeFileSync(fb, jsonl(b));
    const out = path.join(dir, 'adjudicate.jsonl');
    const r = cli('agreement', fa, fb, '--names', 'ann,bob', '-o', out, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      records: number;
      pairs: number;
      pending_pairs: number;
      kappa_kind: string;
      kappa: number;
      observed: number;
      expected: number;
      f1: number;
      precision: number;
      recall: number;
      per_relation: Record<string, { reference: number; other: number; both: number; f1: number }>;
      disagreements: string[];
    };
    // By hand: 11 pairs (12 − 1 pending), 8 agree; chance = Σ p_ann(c)·p_bob(c) = 10/121.
    assert.deepEqual([j.records, j.pairs, j.pending_pairs, j.kappa_kind], [12, 11, 1, 'cohen']);
    assert.ok(Math.abs(j.observed - 8 / 11) < 1e-12);
    assert.ok(Math.abs(j.expected - 10 / 121) < 1e-12);
    assert.ok(Math.abs(j.kappa - 78 / 111) < 1e-12, String(j.kappa));
    // Relations: ann 10, bob 9, 7 the same (label and direction).
    assert.ok(Math.abs(j.precision - 7 / 9) < 1e-12);
    assert.ok(Math.abs(j.recall - 7 / 10) < 1e-12);
    assert.ok(Math.abs(j.f1 - 14 / 19) < 1e-12);
    assert.deepEqual(j.per_relation['Member-Collection'], {
      reference: 1,
      other: 2,
      both: 1,
      f1: 2 / 3,
    });
    assert.equal(j.per_relation['Message-Topic']!.both, 0, 'a reversed relation is another one');
    assert.deepEqual(j.disagreements, ['semeval-2', 'semeval-3', 'semeval-4']);
    const adj = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RelRecord);
    assert.deepEqual(
      adj.map((x) => x.id),
      j.disagreements,
    );
    const two = adj[0]!.relations.map((x) => `${x.label}:${String(x.meta?.['annotator'])}`).sort();
    assert.deepEqual(two, ['Component-Whole:ann', 'Member-Collection:bob']);
    const reversed = adj[2]!.relations.map(
      (x) => `${x.head}>${x.tail}:${String(x.meta?.['annotator'])}`,
    );
    assert.deepEqual(reversed.sort(), ['e1>e2:ann', 'e2>e1:bob']);
    // The text report says the same, and an existing output is not replaced without --force.
    const again = cli('agreement', fa, fb, '--names', 'ann,bob', '-o', out);
    assert.notEqual(again.code, 0);
    assert.match(again.err, /exists/);
    const text = cli('agreement', fa, fb);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /Cohen's kappa 0\.703 \(observed agreement 0\.727, by chance 0\.083\)/);
    assert.match(
      text.out,
      /relation F1 of ann-b\.jsonl against ann-a\.jsonl: 73\.68 \(P 77\.78 \/ R 70\.00\)/,
    );
    assert.match(text.out, /3 record\(s\) with a disagreement/);
  });

  it("three annotators: Fleiss' kappa and F1 for every pair; bad input is refused naming the file", () => {
    ensureBuilt();
    const dir = tmp('rl-agree3-');
    const files = ['x', 'y', 'z'].map((n) => path.join(dir, `${n}.jsonl`));
    const recs = sample();
    writeFileSync(files[0]!, jsonl(recs));
    writeFileSync(files[1]!, jsonl(recs));
    const z = sample();
    z[0]!.relations[0]!.label = 'Entity-Origin';
    writeFileSync(files[2]!, jsonl(z));
    const r = cli('agreement', ...files, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as {
      kappa_kind: string;
      kappa: number;
      pairwise: Array<{ reference: string; other: string; f1: number }>;
      disagreements: string[];
    };
    assert.equal(j.kappa_kind, 'fleiss');
    assert.ok(j.kappa > 0.8 && j.kappa < 1, String(j.kappa));
    assert.deepEqual(
      j.pairwise.map((p) => `${p.reference}/${p.other}`),
      ['x.jsonl/y.jsonl', 'x.jsonl/z.jsonl', 'y.jsonl/z.jsonl'],
    );
    assert.equal(j.pairwise[0]!.f1, 1);
    assert.deepEqual(j.disagreements, ['semeval-1']);
    const one = cli('agreement', files[0]!);
    assert.notEqual(one.code, 0);
    assert.match(one.err, /two or more/);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, jsonl(recs.slice(0, 2)) + '{not json\n');
    const b = cli('agreement', files[0]!, bad);
    assert.match(b.err, /bad\.jsonl:3/);
  });
});
