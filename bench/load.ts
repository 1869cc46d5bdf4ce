/**
 * Extraction under a busy CPU: examples/s of sentence extraction (SmolLM2, the first N SemEval
 * test sentences, one sequence) idle and beside 1 and 3 competing CPU-bound processes (started
 * here: `node -e 'for(;;){}'`), for thread policies. Each rate is divided by the idle rate (all
 * cores, no competitor) and by the fair share: our `cores` threads among cores + C runnable
 * threads, min(1, cores / (cores + C)) — 2/3 and 2/5 on 2 cores. One run, ratios only.
 *
 *   npx tsx bench/load.ts [--n 24] [--model PATH]
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSentenceExtraction } from '../src/core/pipelines/runner';
import { LlamaEngine } from '../src/engine/llama';
import { loadRecords } from '../src/node/load';
import { answerSpace } from '../src/core/pipelines/answerSpace';
import { DEFAULT_TEMPLATE } from '../src/core/prompts/builtin';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const ROOT = path.resolve(__dirname, '..');
const n = Number(arg('n', '24'));
const model = arg('model', path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf'));
const data = path.resolve(
  ROOT,
  '..',
  'shared',
  'datasets',
  'semeval2010_task8',
  'TEST_FILE_FULL.TXT',
);
const cores = os.availableParallelism();

function competitors(k: number): ChildProcess[] {
  return Array.from({ length: k }, () =>
    spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
  );
}

async function rate(threads: number | 'adaptive'): Promise<number> {
  const test = await loadRecords(data);
  const rs = test.relationSet!;
  const records = test.records.slice(0, n);
  const engine = await LlamaEngine.open({
    modelPath: model,
    ...(threads === 'adaptive' ? { threadPolicy: 'adaptive' as const } : { threads }),
    parallel: 1,
    contextSize: 2048,
  });
  try {
    const space = answerSpace(rs, 'label');
    // warm-up: the shared prefix is evaluated once, outside the timing
    for await (const _ of runSentenceExtraction(engine, records.slice(0, 1), space, {
      relationSet: rs,
      template: DEFAULT_TEMPLATE,
      mode: 'score',
      direction: 'label',
      inFlight: 1,
      model,
      scoreMargin: 1,
    }));
    const t0 = performance.now();
    for await (const _ of runSentenceExtraction(engine, records.slice(1), space, {
      relationSet: rs,
      template: DEFAULT_TEMPLATE,
      mode: 'score',
      direction: 'label',
      inFlight: 1,
      model,
      scoreMargin: 1,
    }));
    return ((records.length - 1) * 1000) / (performance.now() - t0);
  } finally {
    await engine.dispose();
  }
}

async function main() {
  const policies: Array<{ name: string; threads: (c: number) => number | 'adaptive' }> = [
    { name: `all cores (${cores} threads)`, threads: () => cores },
    { name: 'free cores (cores − competitors, ≥ 1)', threads: (c) => Math.max(1, cores - c) },
    { name: 'adaptive (the cores others leave free)', threads: () => 'adaptive' },
  ];
  const rows: Array<Record<string, unknown>> = [];
  let idle = 0;
  for (const c of [0, 1, 3]) {
    for (const p of policies) {
      if (c === 0 && p.threads(0) !== cores && p.threads(0) !== 'adaptive') continue;
      const t = p.threads(c);
      const procs = competitors(c);
      try {
        await new Promise((r) => setTimeout(r, 500));
        const r = await rate(t);
        if (c === 0 && t === cores) idle = r;
        const fairShare = Math.min(1, cores / (cores + c));
        rows.push({
          competitors: c,
          policy: p.name,
          threads: t,
          examples_per_s: r,
          fair_share: fairShare,
        });
      } finally {
        for (const pr of procs) pr.kill('SIGKILL');
      }
    }
  }
  for (const r of rows) {
    r['of_idle'] = (r['examples_per_s'] as number) / idle;
    r['of_fair_share'] = (r['of_idle'] as number) / (r['fair_share'] as number);
  }
  for (const r of rows) console.log(JSON.stringify(r));
  console.log(
    `\n${'competitors'.padEnd(12)} ${'policy'.padEnd(42)} ${'ex/s'.padStart(6)} ${'÷ idle'.padStart(7)} ${'÷ fair share'.padStart(13)}`,
  );
  for (const r of rows)
    console.log(
      `${String(r['competitors']).padEnd(12)} ${String(r['policy']).padEnd(42)} ${(r['examples_per_s'] as number).toFixed(3).padStart(6)} ${(r['of_idle'] as number).toFixed(2).padStart(7)} ${(r['of_fair_share'] as number).toFixed(2).padStart(13)}`,
    );
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
