/**
 * Fine-tuning, measured: a LoRA adapter trained by train-lora's job on a fixed sample of the
 * SemEval-2010 Task 8 training set (SmolLM2-135M-Instruct, CPU), then official F1 on the same
 * fixed 500 test sentences as bench/quality.ts (zero-shot, RAG and kNN rows there), and the
 * export check (node-llama-cpp with the adapter vs PyTorch) on 200 of those prompts.
 * Usage: npx tsx bench/lora.ts [--train-n 600] [--epochs 1] [--layers top-6] [--lr 1e-3] [--answers codes|names] [--bare] [--n 500] [--out DIR]
 * --bare: the relation set without its descriptions (prompts of ~250 instead of ~550 tokens).
 * --check-n N: prompts of the export check (default 200; 0 skips it).
 * --reuse: score the adapter an earlier run with the same settings wrote, without training again.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { evaluateSemEval, semevalAnswers } from '../src/core/eval';
import { ExtractedRecord, runSentenceExtraction } from '../src/core/pipelines/runner';
import { LlamaEngine } from '../src/engine/llama';
import { checkAdapterExport, checkPrompts } from '../src/node/adapterCheck';
import { sentenceSpace } from '../src/node/jobs';
import { loadRecords } from '../src/node/load';
import { trainLoraJob } from '../src/node/trainLora';
import { readAdapterManifest } from '../src/node/adapters';
import { sample } from './sample';
import { DEFAULT_TEMPLATE } from '../src/core/prompts/builtin';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, '..', 'shared', 'datasets', 'semeval2010_task8');
const MODEL =
  process.env['RELATION_LENS_MODEL'] ??
  path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const VENV = process.env['RELATION_LENS_TRAINER_VENV'] ?? path.join(ROOT, '.cache', 'trainer-venv');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};

async function main() {
  const trainN = Number(arg('--train-n', '600'));
  const n = Number(arg('--n', '500'));
  const codes = arg('--answers', 'codes') === 'codes';
  const outDir = arg('--out', path.join(ROOT, '.cache', 'bench-lora'));
  mkdirSync(outDir, { recursive: true });
  const adapter = path.join(
    outDir,
    `semeval-${trainN}-${codes ? 'codes' : 'names'}${process.argv.includes('--bare') ? '-bare' : ''}.gguf`,
  );
  const train = await loadRecords(path.join(DATA, 'TRAIN_FILE.TXT'));
  const test = await loadRecords(path.join(DATA, 'TEST_FILE_FULL.TXT'));
  const bare = process.argv.includes('--bare');
  const rs = bare
    ? {
        ...test.relationSet!,
        labels: test.relationSet!.labels.map((l) => ({ name: l.name, directed: l.directed })),
      }
    : test.relationSet!;
  const { space, direction } = sentenceSpace(rs, undefined);
  const hyper = {
    epochs: Number(arg('--epochs', '1')),
    rank: 16,
    alpha: 32,
    layers: arg('--layers', 'top-6'),
    lr: Number(arg('--lr', '1e-3')),
    batchSize: 8,
    maxExamples: trainN,
    seed: 0,
  };
  // --reuse: score an adapter this bench trained before (same settings) instead of training again.
  const reuse = process.argv.includes('--reuse') ? await readAdapterManifest(adapter) : undefined;
  const manifest =
    reuse ??
    (
      await trainLoraJob({
        input: path.join(DATA, 'TRAIN_FILE.TXT'),
        records: train.records,
        relationSet: rs,
        template: DEFAULT_TEMPLATE,
        space,
        direction,
        answerCodes: codes,
        modelPath: MODEL,
        out: adapter,
        force: true,
        hyper,
        venv: VENV,
        log: (l) => process.stderr.write(l + '\n'),
        onProgress: (p) => {
          if (p.step % 10 === 0 || p.step === p.steps)
            process.stderr.write(
              `step ${p.step}/${p.steps}: loss ${p.loss_avg.toFixed(3)}, ${p.examples_per_s.toFixed(2)} examples/s\n`,
            );
        },
      })
    ).manifest;
  const gold = sample(test.records, n, 2024);
  const engine = await LlamaEngine.open({
    modelPath: MODEL,
    loras: [{ path: adapter, scale: 1 }],
    parallel: 4,
    contextSize: 2048,
  });
  const t0 = Date.now();
  const out: ExtractedRecord[] = [];
  try {
    for await (const r of runSentenceExtraction(engine, gold, space, {
      relationSet: rs,
      template: DEFAULT_TEMPLATE,
      mode: 'score',
      direction,
      inFlight: 4,
      model: MODEL,
      scoreMargin: 1,
      answerCodes: codes,
    }))
      out.push(r);
  } finally {
    await engine.dispose();
  }
  const extractSeconds = (Date.now() - t0) / 1000;
  const s = evaluateSemEval(semevalAnswers(gold), semevalAnswers(out.map((r) => r.record)));
  const predicted = new Map<string, number>();
  for (const a of semevalAnswers(out.map((r) => r.record)).values())
    predicted.set(a, (predicted.get(a) ?? 0) + 1);
  const row = {
    train_examples: manifest.data.examples,
    epochs: hyper.epochs,
    layers: hyper.layers,
    answers: codes ? 'codes' : 'names',
    relation_descriptions: !bare,
    prompt_tokens_mean: manifest.data.promptTokensMean,
    train_seconds: manifest.training.seconds,
    train_examples_per_s: manifest.training.examplesPerSecond,
    peak_rss_mb: manifest.training.peakRssMb,
    loss_first: manifest.training.lossCurve[0]?.[1],
    loss_last10: Number(
      (
        manifest.training.lossCurve.slice(-10).reduce((a, x) => a + x[1], 0) /
        Math.min(10, manifest.training.lossCurve.length)
      ).toFixed(4),
    ),
    test_sentences: n,
    precision: s.precision,
    recall: s.recall,
    official_f1: s.f1,
    extract_seconds: extractSeconds,
    predicted_labels: Object.fromEntries([...predicted].sort((a, b) => b[1] - a[1]).slice(0, 5)),
  };
  // The scores first: the export check is slow with multi-token answers.
  process.stdout.write(JSON.stringify(row) + '\n');
  const checkN = Number(arg('--check-n', '200'));
  if (checkN > 0) {
    const { prompts, answers } = await checkPrompts(gold, checkN, {
      relationSet: rs,
      template: DEFAULT_TEMPLATE,
      space,
      direction,
      answerCodes: codes,
    });
    const check = await checkAdapterExport({
      modelPath: MODEL,
      adapter,
      prompts,
      answers,
      venv: VENV,
    });
    process.stdout.write(JSON.stringify({ export_check: check }) + '\n');
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
