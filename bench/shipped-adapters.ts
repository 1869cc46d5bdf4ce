/**
 * A shipped adapter on its whole test set, run through the CLI as a user runs it: `extract --lora
 * ADAPTER` (what extraction applies by default for its relation set and base), the kNN vote over the training set (`index build`, `extract --mode
 * knn`), and with --zero-shot the base model alone (`--no-default-adapter`); each scored by `eval`
 * (the official scorer). One run, on this machine; the rows print as a table.
 * --record writes the scores, the sentences, the seconds and the commands into the adapter's
 * manifest (`evaluation`), which the README's results table and models/README.md quote.
 *
 * --sample N scores the same fixed N test sentences as bench/quality.ts and bench/lora.ts (seeded
 * shuffle, seed 2024; line-per-record formats: FinRE, SanWen), written with the relation set file
 * beside them under .cache/bench-shipped; --record then writes `sampleEvaluation`.
 *
 * Usage: npx tsx bench/shipped-adapters.ts [--adapter models/semeval-smollm2.gguf] [--limit N]
 *        [--sample N] [--zero-shot] [--record]
 * Needs `npm run build` (dist/cli.js) and the SmolLM2 base (.cache/models, scripts/fetch_test_model.py).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { adapterManifestPath, readAdapterManifest } from '../src/node/adapters';
import { writeFileAtomic } from '../src/node/files';
import { loadRecords } from '../src/node/load';
import { lockOutput } from '../src/node/output';
import { resolveRelationSet } from '../src/node/resources';
import { TEST_SAMPLE_SEED, sample } from './sample';
import { DATASETS, MODEL, ROOT, arg } from './trainEnv';

/** What each relation set is scored on: its test and training files and the official metric. */
const SUITES: Record<string, { test: string; train: string; from: string; metric: string }> = {
  'semeval2010-task8': {
    test: path.join(DATASETS, 'semeval2010_task8', 'TEST_FILE_FULL.TXT'),
    train: path.join(DATASETS, 'semeval2010_task8', 'TRAIN_FILE.TXT'),
    from: 'semeval',
    metric: 'semeval',
  },
  sanwen: {
    test: path.join(DATASETS, 'sanwen', 'test.txt'),
    train: path.join(DATASETS, 'sanwen', 'train.txt'),
    from: 'sanwen',
    metric: 'micro',
  },
  finre: {
    test: path.join(DATASETS, 'finre', 'test.txt'),
    train: path.join(DATASETS, 'finre', 'train.txt'),
    from: 'finre',
    metric: 'micro',
  },
};

const CLI = path.join(ROOT, 'dist', 'cli.js');
const rel = (p: string) => path.relative(ROOT, p);

function relationLens(args: string[]): { seconds: number; command: string; stdout: string } {
  const t0 = Date.now();
  const stdout = execFileSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  return {
    seconds: Math.round((Date.now() - t0) / 1000),
    command: ['relation-lens', ...args.map((a) => (path.isAbsolute(a) ? rel(a) : a))].join(' '),
    stdout,
  };
}

/**
 * The fixed sample of bench/quality.ts (the same seeded shuffle of the records, first n) written in
 * the test file's own line-per-record format, with the relation set file found beside the test
 * (resolveRelationSet's lookup). Both written atomically into the bench's own cache folder.
 */
async function sampleFile(test: string, n: number, out: string): Promise<string> {
  const { records } = await loadRecords(test);
  const lines = readFileSync(test, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  if (lines.length !== records.length)
    throw new Error(
      `${test}: --sample needs one record per line (${lines.length} lines, ${records.length} records)`,
    );
  const picked = sample(
    lines.map((_, i) => i),
    n,
    TEST_SAMPLE_SEED,
  ).sort((a, b) => a - b);
  const dir = path.join(out, `sample-${path.basename(path.dirname(test))}-${n}`);
  const file = path.join(dir, path.basename(test));
  await writeFileAtomic(file, picked.map((i) => lines[i]! + '\n').join(''));
  const rs = await resolveRelationSet({ nearby: [path.dirname(test)] });
  if (rs) await writeFileAtomic(path.join(dir, path.basename(rs.from)), readFileSync(rs.from));
  return file;
}

async function main() {
  const adapter = path.resolve(arg('--adapter', path.join(ROOT, 'models', 'semeval-smollm2.gguf')));
  const m = await readAdapterManifest(adapter);
  if (!m) throw new Error(`${adapter}: no manifest beside it`);
  const known = SUITES[m.relationSet.name];
  if (!known) throw new Error(`no test set known for the relation set ${m.relationSet.name}`);
  const limit = arg('--limit', '');
  const sampleN = Number(arg('--sample', '0'));
  const out = path.join(ROOT, '.cache', 'bench-shipped');
  mkdirSync(out, { recursive: true });
  const suite = {
    ...known,
    test: sampleN ? await sampleFile(known.test, sampleN, out) : known.test,
  };
  // The adapter's own base (its manifest's path on this machine), else $RELATION_LENS_MODEL / SmolLM2.
  const model =
    process.env['RELATION_LENS_MODEL'] ?? (existsSync(m.base.path) ? m.base.path : MODEL);
  const common = [suite.test, '--from', suite.from, '--model', model, '--force', '--no-resume'];
  if (limit) common.push('--limit', limit);
  const score = (pred: string) => {
    const r = relationLens([
      'eval',
      '--metric',
      suite.metric,
      '--gold',
      suite.test,
      '--gold-from',
      suite.from,
      '--pred',
      pred,
      ...(limit ? ['--only-predicted'] : []),
      '--json',
    ]);
    const s = JSON.parse(r.stdout) as { precision: number; recall: number; f1: number };
    return {
      f1: +(100 * s.f1).toFixed(2),
      precision: +(100 * s.precision).toFixed(2),
      recall: +(100 * s.recall).toFixed(2),
      command: r.command,
    };
  };
  const rows: Array<Record<string, unknown>> = [];
  const run = (name: string, file: string, extra: string[]) => {
    const pred = path.join(out, file);
    const x = relationLens(['extract', ...common, '-o', pred, ...extra]);
    const { command, ...s } = score(pred);
    rows.push({ name, ...s, seconds: x.seconds, commands: [x.command, command] });
    process.stderr.write(
      `${name}: F1 ${s.f1} (P ${s.precision} / R ${s.recall}), ${x.seconds} s\n`,
    );
  };
  run(`shipped adapter ${path.basename(adapter)}`, 'adapter.jsonl', ['--lora', adapter]);
  if (process.argv.includes('--zero-shot'))
    run('zero-shot (the base model alone)', 'zero-shot.jsonl', ['--no-default-adapter']);
  const index = path.join(out, 'index');
  const built = relationLens(['index', 'build', suite.train, '--force', '-o', index]);
  const knnPred = path.join(out, 'knn.jsonl');
  const knn = relationLens(['extract', ...common, '--mode', 'knn', '--rag', index, '-o', knnPred]);
  const { command: ksCommand, ...ks } = score(knnPred);
  rows.push({
    name: 'kNN vote over the training set',
    ...ks,
    seconds: knn.seconds,
    commands: [built.command, knn.command, ksCommand],
  });
  process.stderr.write(`kNN vote: F1 ${ks.f1}, ${knn.seconds} s\n`);
  const sentences = readFileSync(path.join(out, 'adapter.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean).length;
  console.log(
    `\n${path.basename(adapter)} on ${rel(suite.test)} (${sentences} sentences, ${suite.metric} official scorer):`,
  );
  console.log('| run | F1 (P / R) | seconds |\n| --- | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${String(r['name'])} | ${String(r['f1'])} (${String(r['precision'])} / ${String(r['recall'])}) | ${String(r['seconds'])} |`,
    );
  if (process.argv.includes('--record')) {
    if (limit) throw new Error('--record scores the whole test set or --sample: drop --limit');
    const file = adapterManifestPath(adapter);
    // Told to (--record): the manifest is read and replaced under its lock, atomically.
    const unlock = await lockOutput(file);
    try {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      manifest[sampleN ? 'sampleEvaluation' : 'evaluation'] = {
        test: rel(suite.test),
        ...(sampleN ? { sample: { of: rel(known.test), seed: TEST_SAMPLE_SEED } } : {}),
        sentences,
        metric:
          suite.metric === 'semeval'
            ? 'official SemEval-2010 Task 8 macro-F1 (9 relations, directions)'
            : 'micro-F1 without the no-relation label',
        measured: new Date().toISOString(),
        bench: `npx tsx bench/shipped-adapters.ts --adapter ${rel(adapter)}${sampleN ? ` --sample ${sampleN}` : ''} --record`,
        rows,
      };
      await writeFileAtomic(file, JSON.stringify(manifest, null, 2) + '\n');
    } finally {
      await unlock();
    }
    process.stderr.write(`recorded in ${rel(file)}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
