/**
 * How often labels flip between identical runs: `extract` on the first N SemEval test sentences,
 * R runs per setting (parallel sequences, and --deterministic), each compared with the first run
 * of its setting. Prints flips (records whose predicted label differs), the largest score change,
 * and examples/s per run.
 *
 *   npx tsx bench/flips.ts [--n 100] [--runs 2] [--deterministic-runs R] [--model PATH] [--parallel 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const ROOT = path.resolve(__dirname, '..');
const n = Number(arg('n', '100'));
const runs = Number(arg('runs', '2'));
// Deterministic runs are identical by construction (and tested); fewer of them save time.
const deterministicRuns = Number(arg('deterministic-runs', String(runs)));
const parallel = arg('parallel', '2');
const model = arg('model', path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf'));
const data = path.resolve(
  ROOT,
  '..',
  'shared',
  'datasets',
  'semeval2010_task8',
  'TEST_FILE_FULL.TXT',
);
const dir = mkdtempSync(path.join(tmpdir(), 'rl-flips-'));

type Pred = Map<string, { label: string; score: number }>;
function run(setting: string[], out: string): { preds: Pred; rate: number } {
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      path.join(ROOT, 'dist', 'cli.js'),
      'extract',
      data,
      '--model',
      model,
      '--limit',
      String(n),
      '--threads',
      '2',
      ...setting,
      '-o',
      out,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  const preds: Pred = new Map();
  for (const line of readFileSync(out, 'utf8').trim().split('\n')) {
    const rec = JSON.parse(line) as {
      id: string;
      relations: Array<{ label: string; head: string; score?: number; source: string }>;
    };
    const m = rec.relations.find((x) => x.source === 'model');
    preds.set(rec.id, { label: m ? `${m.label}/${m.head}` : 'Other', score: m?.score ?? 0 });
  }
  return { preds, rate: (1000 * n) / (Date.now() - t0) };
}

try {
  for (const [name, setting, count] of [
    [`parallel ${parallel}`, ['--parallel', parallel], runs],
    ['deterministic', ['--deterministic'], deterministicRuns],
  ] as const) {
    const all = Array.from({ length: count }, (_, i) =>
      run([...setting], path.join(dir, `${name.replace(/\W/g, '')}-${i}.jsonl`)),
    );
    const first = all[0]!.preds;
    for (let i = 1; i < all.length; i++) {
      let flips = 0;
      let maxDiff = 0;
      for (const [id, p] of all[i]!.preds) {
        const q = first.get(id)!;
        if (q.label !== p.label) flips++;
        maxDiff = Math.max(maxDiff, Math.abs(q.score - p.score));
      }
      console.log(
        `${name.padEnd(14)} run ${i + 1} vs run 1: ${flips} of ${n} labels flipped (${((100 * flips) / n).toFixed(1)} %), largest score change ${maxDiff.toExponential(2)}; ${all.map((x) => x.rate.toFixed(2)).join(' / ')} examples/s`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
