/**
 * Fine-tuning, measured: a LoRA adapter trained by train-lora's job on a fixed sample of a
 * training set (SmolLM2-135M-Instruct, CPU), then scored on the same fixed 500 test sentences as
 * bench/quality.ts (zero-shot, RAG and kNN rows there), and the export check (node-llama-cpp with
 * the adapter vs PyTorch) on 200 of those prompts.
 * --dataset semeval (default): SemEval-2010 Task 8, the default template, official macro-F1,
 *   label scoring. --dataset finre: FinRE with the CRE-LLM prompt (direction-free pairs),
 *   micro-F1 without `unknown`, constrained generation (--mode score|generate). --dataset sanwen:
 *   SanWen, the same way. The base: $RELATION_LENS_MODEL (e.g. gemma-3-270m), else SmolLM2.
 * Usage: npx tsx bench/lora.ts [--dataset semeval|finre] [--train-n 600] [--epochs 1] [--layers top-6] [--lr 1e-3] [--answers codes|names] [--bare] [--template NAME] [--n 500] [--out DIR]
 * --bare: the relation set without its descriptions (prompts of ~250 instead of ~550 tokens).
 * --template NAME: a built-in sentence template instead of the dataset's (e.g. cre-llm-short).
 * --check-n N: prompts of the export check (default 200; 0 skips it).
 * --reuse: score the adapter an earlier run with the same settings wrote, without training again.
 * --train-n all: every training example. --batch-size N (default 8).
 * --gpu-prepare DIR / --gpu-result DIR: the trainer runs on a lent GPU machine (bench/gpuTrainer.ts
 *   says how); the same job renders the data here, and the adapter is scored here.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { evaluateMicro, evaluateSemEval, semevalAnswers } from '../src/core/eval';
import { ExtractedRecord, runSentenceExtraction } from '../src/core/pipelines/runner';
import { DecodeMode } from '../src/core/pipelines/sentence';
import { PromptTemplate } from '../src/core/prompts/template';
import { CRE_LLM_TEMPLATE, DEFAULT_TEMPLATE, builtinTemplate } from '../src/core/prompts/builtin';
import { RelationSet, RelRecord } from '../src/core/schema';
import { LlamaEngine } from '../src/engine/llama';
import { checkAdapterExport, checkPrompts } from '../src/node/adapterCheck';
import { readAdapterManifest } from '../src/node/adapters';
import { sentenceSpace } from '../src/node/jobs';
import { loadRecords } from '../src/node/load';
import { trainLoraJob } from '../src/node/trainLora';
import { Prepared, prepareTrainer, resultTrainer } from './gpuTrainer';
import { TEST_SAMPLE_SEED, sample } from './sample';
import { DATASETS, MODEL, ROOT, VENV, arg } from './trainEnv';

interface Bench {
  name: string;
  train: string;
  test: string;
  template: PromptTemplate;
  direction?: 'pair';
  mode: DecodeMode;
  metric: string;
  score(
    gold: RelRecord[],
    pred: RelRecord[],
    rs: RelationSet,
  ): { precision: number; recall: number; f1: number };
  answers(pred: RelRecord[]): string[];
}

const labelsOf = (pred: RelRecord[]) =>
  pred.flatMap((r) => (r.relations.length ? r.relations.map((x) => x.label) : ['(none)']));

const BENCHES: Record<string, Bench> = {
  semeval: {
    name: 'semeval',
    train: path.join(DATASETS, 'semeval2010_task8', 'TRAIN_FILE.TXT'),
    test: path.join(DATASETS, 'semeval2010_task8', 'TEST_FILE_FULL.TXT'),
    template: DEFAULT_TEMPLATE,
    mode: 'score',
    metric: 'official macro-F1',
    score: (gold, pred) => evaluateSemEval(semevalAnswers(gold), semevalAnswers(pred)),
    answers: (pred) => [...semevalAnswers(pred).values()],
  },
  finre: {
    name: 'finre',
    train: path.join(DATASETS, 'finre', 'train.txt'),
    test: path.join(DATASETS, 'finre', 'test.txt'),
    template: CRE_LLM_TEMPLATE,
    direction: 'pair',
    mode: 'generate',
    metric: 'micro-F1 without unknown',
    score: (gold, pred, rs) => evaluateMicro(gold, pred, rs),
    answers: labelsOf,
  },
  sanwen: {
    name: 'sanwen',
    train: path.join(DATASETS, 'sanwen', 'train.txt'),
    test: path.join(DATASETS, 'sanwen', 'test.txt'),
    template: CRE_LLM_TEMPLATE,
    direction: 'pair',
    mode: 'generate',
    metric: 'micro-F1 without unknown',
    score: (gold, pred, rs) => evaluateMicro(gold, pred, rs),
    answers: labelsOf,
  },
};

/** --bare: the relation set without its descriptions (shorter prompts). */
function bareSet(rs: RelationSet, bare: boolean): RelationSet {
  return bare
    ? { ...rs, labels: rs.labels.map((l) => ({ name: l.name, directed: l.directed })) }
    : rs;
}

async function extractWith(
  b: Bench,
  adapter: string,
  gold: RelRecord[],
  job: { rs: RelationSet; codes: boolean },
): Promise<{ out: ExtractedRecord[]; seconds: number }> {
  const { space, direction } = sentenceSpace(job.rs, b.direction);
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
      relationSet: job.rs,
      template: b.template,
      mode: arg('--mode', b.mode) as DecodeMode,
      direction,
      inFlight: 4,
      model: MODEL,
      scoreMargin: 1,
      answerCodes: job.codes,
    }))
      out.push(r);
  } finally {
    await engine.dispose();
  }
  return { out, seconds: (Date.now() - t0) / 1000 };
}

function hyperFromArgs(trainN: number | undefined) {
  return {
    epochs: Number(arg('--epochs', '1')),
    rank: 16,
    alpha: 32,
    layers: arg('--layers', 'top-6'),
    lr: Number(arg('--lr', '1e-3')),
    batchSize: Number(arg('--batch-size', '8')),
    ...(trainN ? { maxExamples: trainN } : {}),
    seed: 0,
  };
}

async function main() {
  const b0 = BENCHES[arg('--dataset', 'semeval')];
  if (!b0) throw new Error(`--dataset: one of ${Object.keys(BENCHES).join(', ')}`);
  const named = arg('--template', '');
  const builtin = named ? builtinTemplate('sentence', named) : undefined;
  if (named && !builtin) throw new Error(`--template ${named}: not a built-in sentence template`);
  const b = builtin ? { ...b0, template: builtin.template } : b0;
  const trainArg = arg('--train-n', '600');
  const trainN = trainArg === 'all' ? undefined : Number(trainArg);
  const gpuPrepare = arg('--gpu-prepare', '');
  const gpuResult = arg('--gpu-result', '');
  const gpu = gpuPrepare || gpuResult;
  const n = Number(arg('--n', '500'));
  const codes = arg('--answers', 'codes') === 'codes';
  const bare = process.argv.includes('--bare');
  const outDir = arg('--out', path.join(ROOT, '.cache', 'bench-lora'));
  mkdirSync(outDir, { recursive: true });
  const name = `${b.name}-${trainArg}-${codes ? 'codes' : 'names'}${bare ? '-bare' : ''}${named ? `-${named}` : ''}${gpu ? '-gpu' : ''}`;
  const adapter = path.join(outDir, `${name}.gguf`);
  const train = await loadRecords(b.train);
  const test = await loadRecords(b.test);
  const rs = bareSet(test.relationSet!, bare);
  const { space, direction } = sentenceSpace(rs, b.direction);
  const hyper = hyperFromArgs(trainN);
  // --reuse: score an adapter this bench trained before (same settings) instead of training again.
  const reuse = process.argv.includes('--reuse') ? await readAdapterManifest(adapter) : undefined;
  const manifest =
    reuse ??
    (
      await trainLoraJob({
        input: b.train,
        records: train.records,
        relationSet: rs,
        template: b.template,
        space,
        direction,
        answerCodes: codes,
        modelPath: MODEL,
        out: adapter,
        force: true,
        hyper,
        venv: VENV,
        ...(gpuPrepare ? { trainer: prepareTrainer(gpuPrepare, name) } : {}),
        ...(gpuResult ? { trainer: resultTrainer(gpuResult, name) } : {}),
        log: (l) => process.stderr.write(l + '\n'),
        onProgress: (p) => {
          if (p.step % 10 === 0 || p.step === p.steps)
            process.stderr.write(
              `step ${p.step}/${p.steps}: loss ${p.loss_avg.toFixed(3)}, ${p.examples_per_s.toFixed(2)} examples/s\n`,
            );
        },
      })
    ).manifest;
  const gold = sample(test.records, n, TEST_SAMPLE_SEED);
  const { out, seconds } = await extractWith(b, adapter, gold, { rs, codes });
  const preds = out.map((r) => r.record);
  const s = b.score(gold, preds, rs);
  const predicted = new Map<string, number>();
  for (const a of b.answers(preds)) predicted.set(a, (predicted.get(a) ?? 0) + 1);
  const curve = manifest.training.lossCurve;
  const row = {
    dataset: b.name,
    template: b.template.name,
    metric: b.metric,
    train_examples: manifest.data.examples,
    epochs: hyper.epochs,
    layers: hyper.layers,
    answers: codes ? 'codes' : 'names',
    relation_descriptions: !bare,
    prompt_tokens_mean: manifest.data.promptTokensMean,
    train_device: manifest.training.device ?? 'cpu',
    train_seconds: manifest.training.seconds,
    train_examples_per_s: manifest.training.examplesPerSecond,
    peak_rss_mb: manifest.training.peakRssMb,
    peak_gpu_mb: manifest.training.peakGpuMb,
    stopped: manifest.training.stopped,
    loss_first: curve[0]?.[1],
    loss_last10: Number(
      (curve.slice(-10).reduce((a, x) => a + x[1], 0) / Math.min(10, curve.length)).toFixed(4),
    ),
    test_sentences: n,
    precision: s.precision,
    recall: s.recall,
    f1: s.f1,
    extract_seconds: seconds,
    predicted_labels: Object.fromEntries([...predicted].sort((a, b) => b[1] - a[1]).slice(0, 5)),
  };
  // The scores first: the export check is slow with multi-token answers.
  process.stdout.write(JSON.stringify(row) + '\n');
  const checkN = Number(arg('--check-n', '200'));
  if (checkN > 0) {
    const { prompts, answers } = await checkPrompts(gold, checkN, {
      relationSet: rs,
      template: b.template,
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
    if (e instanceof Prepared) {
      process.stdout.write(`${e.message}\n`);
      process.exit(0);
    }
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
