/**
 * Serving-engine throughput, one run, same model and machine: the same SemEval examples through
 * the in-process engine and through llama.cpp's llama-server (--parallel P, then again with
 * --kv-unified), score and generate modes. Prints examples/s of each, their ratios to the
 * in-process run and to the naive baseline (one sequence, no prefix reuse, free generation, as
 * `bench throughput` measures it), and the tokens each run evaluated per second ÷ llama.cpp's raw
 * prompt-evaluation rate on that engine (512 tokens in one batch: in-process through node-llama-cpp,
 * through the server from its own /completion timings) — how close it runs to the hardware.
 *
 *   npx tsx bench/server.ts [--n 160] [--parallel 4] [--answers codes|names] [--naive-n 16]
 *     [--model GGUF]
 *
 * Needs llama-server built (bash scripts/setup-llama-server.sh) and the SemEval test file in
 * ../shared/datasets.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ClassifierEngine } from '../src/core/ports';
import { DecodeMode } from '../src/core/pipelines/sentence';
import { RelationSet } from '../src/core/schema';
import { LlamaEngine } from '../src/engine/llama';
import { ServerEngine } from '../src/engine/server';
import { runSentences } from '../src/node/jobs';
import { firstPairPromptOf, naiveRun } from '../src/node/bench';
import { answerSpace, defaultDirection } from '../src/core/pipelines/answerSpace';
import { loadRecords } from '../src/node/load';
import { LLAMA_SERVER, startLlamaServer } from '../test/helpers/llamaServer';
import { DEFAULT_TEMPLATE } from '../src/core/prompts/builtin';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '160' },
    parallel: { type: 'string', default: '4' },
    answers: { type: 'string', default: 'codes' },
    'naive-n': { type: 'string', default: '16' },
    model: {
      type: 'string',
      default: path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf'),
    },
  },
});
const n = Number(values.n);
const parallel = Number(values.parallel);
const codes = values.answers === 'codes';

async function timed(
  engine: ClassifierEngine,
  mode: DecodeMode,
  records: Parameters<typeof runSentences>[1],
  rs: RelationSet,
): Promise<{ perS: number; tokPerS: number; answers: string[] }> {
  const t0 = Date.now();
  const e0 = engine.evaluatedTokens;
  const answers: string[] = [];
  for await (const r of runSentences(engine, records, {
    relationSet: rs,
    template: DEFAULT_TEMPLATE,
    mode,
    answerCodes: codes,
    model: 'bench',
  }))
    answers.push(...r.predictions.map((p) => p.answer));
  const ms = Date.now() - t0;
  return {
    perS: (1000 * answers.length) / ms,
    tokPerS: (1000 * (engine.evaluatedTokens - e0)) / ms,
    answers,
  };
}

/**
 * llama-server's raw prompt-evaluation rate: a 512-token prompt evaluated without the cache, as
 * its own timings report it (prompt tokens per second), best of three.
 */
async function serverRawRate(url: string): Promise<number> {
  const root = url.replace(/\/v1$/, '');
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${root}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        prompt: 'the'.concat(' the'.repeat(511)),
        n_predict: 1,
        cache_prompt: false,
      }),
    });
    const j = (await r.json()) as { timings?: { prompt_n: number; prompt_per_second: number } };
    if (!j.timings || j.timings.prompt_n < 400)
      throw new Error(`llama-server gave no usable timings: ${JSON.stringify(j).slice(0, 300)}`);
    best = Math.max(best, j.timings.prompt_per_second);
  }
  return best;
}

type Row = {
  engine: string;
  mode: DecodeMode;
  perS: number;
  tokPerS: number;
  raw: number;
  agree?: number;
};

async function main(): Promise<void> {
  if (!existsSync(LLAMA_SERVER))
    throw new Error(
      `llama-server is not built (${LLAMA_SERVER}): bash scripts/setup-llama-server.sh`,
    );
  const data = await loadRecords(
    path.join(ROOT, '..', 'shared', 'datasets', 'semeval2010_task8', 'TEST_FILE_FULL.TXT'),
  );
  const records = data.records.slice(0, n);
  const rs = data.relationSet!;
  const modes: DecodeMode[] = ['score', 'generate'];
  const rows: Row[] = [];
  const naiveN = Number(values['naive-n']);
  const nv = await naiveRun(
    { modelPath: values.model! },
    records.slice(0, naiveN),
    (r) => firstPairPromptOf(r, { relationSet: rs, template: DEFAULT_TEMPLATE }),
    answerSpace(rs, defaultDirection(rs)).answers,
  );
  const naivePerS = (1000 * naiveN) / nv.ms;
  const local = await LlamaEngine.open({ modelPath: values.model!, parallel, contextSize: 2048 });
  const localAnswers: Record<string, string[]> = {};
  try {
    const raw = await local.rawPromptEvalRate(512);
    for (const mode of modes) {
      const r = await timed(local, mode, records, rs);
      localAnswers[mode] = r.answers;
      rows.push({ engine: `in-process (${parallel} sequences)`, mode, ...r, raw });
    }
  } finally {
    await local.dispose();
  }
  for (const unified of [false, true]) {
    const server = await startLlamaServer(LLAMA_SERVER, values.model!, {
      parallel,
      args: unified ? ['--kv-unified'] : [],
    });
    try {
      const engine = await ServerEngine.open({ endpoint: server.url });
      const raw = await serverRawRate(server.url);
      for (const mode of modes) {
        const r = await timed(engine, mode, records, rs);
        const agree =
          r.answers.filter((a, i) => a === localAnswers[mode]![i]).length / r.answers.length;
        rows.push({
          engine: `llama-server --parallel ${parallel}${unified ? ' --kv-unified' : ''}`,
          mode,
          ...r,
          raw,
          agree,
        });
      }
    } finally {
      await server.stop();
    }
  }
  const base = (mode: DecodeMode) => rows.find((r) => r.mode === mode)!.perS;
  console.log(
    `SemEval test, first ${n} sentences, SmolLM2-135M (${path.basename(values.model!)}), answers ${values.answers}, one run`,
  );
  console.log(
    `naive (one sequence, no prefix reuse, free generation, ${naiveN} examples, in-process): ${naivePerS.toFixed(3)} examples/s`,
  );
  const head = [
    'examples/s',
    '÷ in-proc',
    '÷ naive',
    'tokens/s',
    'raw tok/s',
    '÷ raw',
    'same label',
  ];
  console.log(
    `${'engine'.padEnd(40)} ${'mode'.padEnd(9)} ${head.map((h) => h.padStart(10)).join(' ')}`,
  );
  for (const r of rows) {
    const cells = [
      r.perS.toFixed(2),
      (r.perS / base(r.mode)).toFixed(2),
      (r.perS / naivePerS).toFixed(2),
      r.tokPerS.toFixed(0),
      r.raw.toFixed(0),
      (r.tokPerS / r.raw).toFixed(2),
      r.agree === undefined ? '—' : `${(100 * r.agree).toFixed(1)}%`,
    ];
    console.log(
      `${r.engine.padEnd(40)} ${r.mode.padEnd(9)} ${cells.map((c) => c.padStart(10)).join(' ')}`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
