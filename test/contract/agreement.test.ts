/**
 * The agreement figures against scikit-learn's (the reference implementation, pinned in
 * test/contract/requirements.txt, in .cache/contract-venv from scripts/setup-contract.sh):
 * Cohen's kappa of `relation-lens agreement` on generated annotations equals
 * sklearn.metrics.cohen_kappa_score on the same categories, for several sizes, label sets and
 * agreement rates.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { agreementUnits, cohenKappa } from '../../src/core/eval/agreement';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { RelRecord } from '../../src/core/schema';
import { mulberry32 } from '../../src/core/util/random';
import { ROOT, cli, ensureBuilt, tmp } from '../helpers/cli';

const VENV =
  process.env['RELATION_LENS_CONTRACT_VENV'] ?? path.join(ROOT, '.cache', 'contract-venv');
const PY = path.join(VENV, 'bin', 'python');

/** Two annotators' versions of n one-pair records: the second keeps the first's label with probability `agree`. */
function generated(n: number, labels: string[], agree: number, seed: number): RelRecord[][] {
  const rand = mulberry32(seed);
  const pick = () => labels[Math.floor(rand() * labels.length)]!;
  const a: RelRecord[] = [];
  const b: RelRecord[] = [];
  for (let i = 0; i < n; i++) {
    const base = {
      id: `r${i}`,
      text: 'The cat sat on the mat.',
      entities: [
        { id: 'e1', name: 'cat', mentions: [{ start: 4, end: 7 }] },
        { id: 'e2', name: 'mat', mentions: [{ start: 19, end: 22 }] },
      ],
      pairs: [['e1', 'e2']] as Array<[string, string]>,
    };
    const la = pick();
    const lb = rand() < agree ? la : pick();
    // A label ending in "←" is the reversed direction; "Other" is no relation.
    const rel = (l: string) =>
      l === 'Other'
        ? []
        : l.endsWith('←')
          ? [{ head: 'e2', tail: 'e1', label: l.slice(0, -1), source: 'gold' as const }]
          : [{ head: 'e1', tail: 'e2', label: l, source: 'gold' as const }];
    a.push({ ...base, relations: rel(la) });
    b.push({ ...base, relations: rel(lb) });
  }
  return [a, b];
}

describe("agreement figures against scikit-learn's", function () {
  this.timeout(120_000);

  before(function () {
    if (!existsSync(PY) || spawnSync(PY, ['-c', 'import sklearn']).status !== 0) {
      console.log(
        `    SKIP: scikit-learn is not installed in ${VENV} (scripts/setup-contract.sh installs test/contract/requirements.txt)`,
      );
      this.skip();
    }
    ensureBuilt();
  });

  it("Cohen's kappa of `relation-lens agreement` equals sklearn's cohen_kappa_score on generated annotations", () => {
    const labels = SEMEVAL_RELATIONS.labels.map((l) => l.name);
    const cases = [
      { n: 50, labels: ['Cause-Effect', 'Other'], agree: 0.7, seed: 1 },
      { n: 300, labels: [...labels.slice(0, 5), 'Other'], agree: 0.5, seed: 2 },
      { n: 1000, labels: [...labels, ...labels.map((l) => `${l}←`), 'Other'], agree: 0.8, seed: 3 },
      { n: 200, labels: ['Cause-Effect', 'Cause-Effect←', 'Other'], agree: 0.0, seed: 4 },
    ];
    const dir = tmp('rl-kappa-');
    for (const [i, c] of cases.entries()) {
      const [a, b] = generated(c.n, c.labels, c.agree, c.seed);
      const fa = path.join(dir, `a${i}.jsonl`);
      const fb = path.join(dir, `b${i}.jsonl`);
      writeFileSync(fa, a!.map((r) => JSON.stringify(r)).join('\n') + '\n');
      writeFileSync(fb, b!.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const r = cli('agreement', fa, fb, '--json');
      assert.equal(r.code, 0, r.err);
      const ours = (JSON.parse(r.out) as { kappa: number }).kappa;
      // The categories each annotator gave, as the tool derives them, handed to scikit-learn.
      const { units } = agreementUnits(
        [
          { name: 'a', records: a! },
          { name: 'b', records: b! },
        ],
        'Other',
      );
      assert.equal(units.length, c.n);
      const x = units.map((u) => u.categories[0]!);
      const y = units.map((u) => u.categories[1]!);
      const py = spawnSync(
        PY,
        [
          '-c',
          'import json,sys; from sklearn.metrics import cohen_kappa_score as k; d=json.load(sys.stdin); print(repr(float(k(d[0], d[1]))))',
        ],
        { input: JSON.stringify([x, y]), encoding: 'utf8' },
      );
      assert.equal(py.status, 0, py.stderr);
      const sk = Number(py.stdout.trim());
      assert.ok(Math.abs(ours - sk) < 1e-12, `case ${i}: ours ${ours}, scikit-learn ${sk}`);
      assert.ok(Math.abs(cohenKappa(x, y).kappa - sk) < 1e-12);
      console.log(
        `      n=${c.n}, ${c.labels.length} categories: kappa ${ours.toFixed(4)} = scikit-learn ${sk.toFixed(4)}`,
      );
    }
  });
});
