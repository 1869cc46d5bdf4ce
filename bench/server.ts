/**
 * Serving-engine throughput, one run, same model and machine: the same SemEval examples through
 * the in-process engine and through llama.cpp's llama-server (--parallel P, then again with
 * --kv-unified), score and generate modes. Prints examples/s of each and their ratios to the
 * in-process run.
 *
 *   npx tsx bench/server.ts [--n 160] [--parallel 4] [--answers codes|names] [--model GGUF]
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
import { loadRecords } from '../src/node/load';
import { LLAMA_SERVER, startLlamaServer } from '../test/helpers/llamaServer';
import { DEFAULT_TEMPLATE } from '../src/core/prompts/builtin';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '160' },
    parallel: { type: 'string', default: '4' },
    answers: { type: 'string', default: 'codes' },
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
): Promise<{ perS: number; answers: string[] }> {
  const t0 = Date.now();
  const answers: string[] = [];
  for await (const r of runSentences(engine, records, {
    relationSet: rs,
    template: DEFAULT_TEMPLATE,
    mode,
    answerCodes: codes,
    model: 'bench',
  }))
    answers.push(...r.predictions.map((p) => p.answer));
  return { perS: (1000 * answers.length) / (Date.now() - t0), answers };
}

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
  const rows: Array<{ engine: string; mode: DecodeMode; perS: number; agree?: number }> = [];
  const local = await LlamaEngine.open({ modelPath: values.model!, parallel, contextSize: 2048 });
  const localAnswers: Record<string, string[]> = {};
  try {
    for (const mode of modes) {
      const r = await timed(local, mode, records, rs);
      localAnswers[mode] = r.answers;
      rows.push({ engine: `in-process (${parallel} sequences)`, mode, perS: r.perS });
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
      for (const mode of modes) {
        const r = await timed(engine, mode, records, rs);
        const agree =
          r.answers.filter((a, i) => a === localAnswers[mode]![i]).length / r.answers.length;
        rows.push({
          engine: `llama-server --parallel ${parallel}${unified ? ' --kv-unified' : ''}`,
          mode,
          perS: r.perS,
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
    `${'engine'.padEnd(40)} ${'mode'.padEnd(9)} ${'examples/s'.padStart(10)} ${'÷ in-proc'.padStart(9)} ${'same label'.padStart(10)}`,
  );
  for (const r of rows)
    console.log(
      `${r.engine.padEnd(40)} ${r.mode.padEnd(9)} ${r.perS.toFixed(2).padStart(10)} ${(r.perS / base(r.mode)).toFixed(2).padStart(9)} ${r.agree === undefined ? '—'.padStart(10) : `${(100 * r.agree).toFixed(1)}%`.padStart(10)}`,
    );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
