/**
 * The train-lora job shared by the CLI and the extension: curated records → the prompts
 * extraction sends, as token ids with the answer span (PromptTokenizer: the model's own chat
 * template) → the Python trainer → a GGUF LoRA adapter for the original quantized base, and a
 * manifest beside it (what it was trained on, how, and how well). The adapter and its manifest
 * are the job's outputs: never one of its inputs, never an existing file without `force`.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { PromptTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet } from '../core/schema';
import {
  RenderedExample,
  TrainingPair,
  TrainingSelection,
  renderTrainingExamples,
  samplePairs,
  selectTrainingPairs,
} from '../core/training/trainingSet';
import { PromptTokenizer } from '../engine/llama';
import { sha256File } from '../engine/models';
import { lockOutput, prepareReplace } from './output';
import { textSha256 } from './provenance';
import { TrainerDone, TrainerProgress, TrainerRun, runTrainer } from './trainer';

export interface TrainLoraJob {
  input: string;
  records: RelRecord[];
  /** Dev records; `heldOut`: their ids when they were held out of the training file itself. */
  dev?: { file: string; records: RelRecord[]; heldOut?: string[] };
  relationSet: RelationSet;
  template: PromptTemplate;
  space: AnswerSpace;
  direction: DirectionMode;
  answerCodes: boolean;
  retriever?: ExampleRetriever;
  rag?: { index: string; k: number };
  modelPath: string;
  out: string;
  force?: boolean;
  resumeFrom?: string;
  hyper: TrainHyper;
  venv?: string;
  threads?: number;
  /**
   * Document level (LMRC): k pairs per prompt with `template` (a document template), the answer
   * `(head| relation| tail)` lines; `space`, `direction` and `answerCodes` are not used.
   */
  document?: DocumentTraining;
  /** Export a checkpoint every N steps (cancel keeps the adapter trained so far in any case). */
  checkpointEvery?: number;
  /** The command line that runs this job (the manifest records it). */
  command?: string;
  signal?: AbortSignal;
  onProgress?: (p: TrainerProgress) => void;
  log: (line: string) => void;
  /**
   * Runs `train_lora.py train ARGS` (default: in the venv, on this machine). The benchmark's GPU
   * rows pass one that hands the same arguments and data to a lent GPU machine.
   */
  trainer?: (args: string[], run: TrainerRun) => Promise<TrainerDone>;
}

export interface DocumentTraining {
  /** The template allows None for a pair without a relation (`lmrc`; not `lmrc-rc`). */
  none: boolean;
  k: number;
  negativesPerPositive?: number;
  maxRelationsPerPair?: number;
  /** The pairs a candidate filter keeps, by record id: negatives come from them (extraction's pairs). */
  kept?: Map<string, Set<string>>;
  /** Prompts longer than this (with their answer) are windowed as extraction windows them (default 4096). */
  contextSize?: number;
}

import { AdapterManifest, TrainHyper, adapterManifestPath } from './adapterManifest';

export type { AdapterManifest, TrainHyper } from './adapterManifest';
import { writeFileAtomic } from './files';
import { AnswerSpace, DirectionMode } from '../core/pipelines/answerSpace';
import { ChatPrompt, ExampleRetriever } from '../core/ports';
import {
  DocTrainingExample,
  emptyDocTrainingCounts,
  renderDocTrainingExamples,
} from '../core/training/docTraining';
import { sampleInOrder } from '../core/util/random';

/** A rendered example: the prompt, its answer, and (sentence level) every answer for dev accuracy. */
type Tokenizable = Pick<RenderedExample, 'prompt' | 'answer'> &
  Partial<Pick<RenderedExample, 'answers' | 'gold'>>;

async function writeTokenized(
  file: string,
  examples: AsyncIterable<Tokenizable> | Iterable<Tokenizable>,
  tok: PromptTokenizer,
  withCandidates: boolean,
): Promise<{ n: number; promptTokens: number }> {
  const lines: string[] = [];
  let promptTokens = 0;
  let candidates: number[][] | undefined;
  for await (const e of examples) {
    const prompt = tok.tokenizePrompt(e.prompt);
    const answer = [...tok.tokenizeAnswer(e.answer), tok.answerEnd];
    promptTokens += prompt.length;
    const line: Record<string, unknown> = {
      ids: [...prompt, ...answer],
      answer_start: prompt.length,
    };
    if (withCandidates && e.answers) {
      candidates ??= e.answers.map((a) => [...tok.tokenizeAnswer(a), tok.answerEnd]);
      line['candidates'] = candidates;
      line['gold'] = e.gold;
    }
    lines.push(JSON.stringify(line));
  }
  await fs.writeFile(file, lines.join('\n') + '\n');
  return { n: lines.length, promptTokens };
}

/** The trainer's command line: data, base, output, hyper-parameters, dev set, resume, checkpoints. */
function trainerArgs(job: TrainLoraJob, dataFile: string, devFile: string | undefined): string[] {
  const h = job.hyper;
  const args = ['--data', dataFile, '--base', job.modelPath, '--export', job.out];
  args.push('--epochs', String(h.epochs), '--rank', String(h.rank), '--alpha', String(h.alpha));
  args.push('--layers', h.layers, '--lr', String(h.lr), '--batch-size', String(h.batchSize));
  args.push('--seed', String(h.seed));
  if (h.maxSteps) args.push('--max-steps', String(h.maxSteps));
  if (devFile) args.push('--dev', devFile);
  if (job.resumeFrom) args.push('--resume-from', job.resumeFrom);
  if (job.checkpointEvery)
    args.push('--checkpoint', job.out, '--checkpoint-every', String(job.checkpointEvery));
  return args;
}

/** Selects the training pairs (a fixed sample with --max-examples) and says what was left out. */
function trainingPairs(job: TrainLoraJob): {
  pairs: TrainingPair[];
  counts: TrainingSelection['counts'];
} {
  const selection = selectTrainingPairs(job.records, job.relationSet, job.direction);
  const c = selection.counts;
  const pairs = samplePairs(selection.pairs, job.hyper.maxExamples, job.hyper.seed);
  job.log(
    `training data: ${selection.pairs.length} pair(s) from ${c.records} record(s) (${c.positives} with a relation, ${c.negatives} without)${pairs.length < selection.pairs.length ? `, a fixed sample of ${pairs.length} (--max-examples)` : ''}${c.pending ? `; ${c.pending} pair(s) pending review left out` : ''}${c.ignored ? `; ${c.ignored} pair(s) a curator ignored left out` : ''}${c.unknownLabel ? `; ${c.unknownLabel} relation(s) with labels outside ${job.relationSet.name} left out` : ''}${c.noAnswer ? `; ${c.noAnswer} pair(s) without a relation left out (the set has no no-relation answer)` : ''}`,
  );
  if (pairs.length === 0)
    throw new InputError(
      `nothing to train on: no pair has a gold, accepted or edited relation (or is a known negative) for relation set ${job.relationSet.name}`,
      job.input,
    );
  return { pairs, counts: c };
}

/** Renders and tokenizes the training pairs (and up to 200 dev pairs) into the trainer's files. */
async function writeTrainerData(
  job: TrainLoraJob,
  pairs: TrainingPair[],
  tok: PromptTokenizer,
  work: string,
): Promise<{
  dataFile: string;
  data: { n: number; promptTokens: number };
  devFile?: string;
  devN: number;
}> {
  const render = (p: TrainingPair[]) =>
    renderTrainingExamples(p, {
      relationSet: job.relationSet,
      template: job.template,
      space: job.space,
      direction: job.direction,
      answerCodes: job.answerCodes,
      retriever: job.retriever,
      k: job.rag?.k,
    });
  const dataFile = path.join(work, 'train.jsonl');
  const data = await writeTokenized(dataFile, render(pairs), tok, false);
  if (!job.dev) return { dataFile, data, devN: 0 };
  const dp = selectTrainingPairs(job.dev.records, job.relationSet, job.direction).pairs;
  if (dp.length === 0)
    throw new InputError('the dev file has no labeled pairs for this relation set', job.dev.file);
  const devFile = path.join(work, 'dev.jsonl');
  const devN = (
    await writeTokenized(devFile, render(samplePairs(dp, 200, job.hyper.seed)), tok, true)
  ).n;
  return { dataFile, data, devFile, devN };
}

/** What the trainer's data files hold, for the log and the manifest. */
interface TrainerData {
  dataFile: string;
  data: { n: number; promptTokens: number };
  devFile?: string;
  devN: number;
  counts: TrainingSelection['counts'];
  sampled: number;
  unfit?: number;
}

async function sentenceTrainerData(
  job: TrainLoraJob,
  tok: PromptTokenizer,
  work: string,
): Promise<TrainerData> {
  const { pairs, counts } = trainingPairs(job);
  return { ...(await writeTrainerData(job, pairs, tok, work)), counts, sampled: pairs.length };
}

/** Document level: every document's training prompts (a fixed sample with --max-examples) and dev prompts. */
async function documentTrainerData(
  job: TrainLoraJob,
  doc: DocumentTraining,
  tok: PromptTokenizer,
  work: string,
): Promise<TrainerData> {
  const limit = doc.contextSize ?? 4096;
  const opts = {
    relationSet: job.relationSet,
    template: job.template,
    ...doc,
    seed: job.hyper.seed,
    fits: (p: ChatPrompt, answer: string) =>
      tok.tokenizePrompt(p).length + tok.tokenizeAnswer(answer).length + 1 <= limit,
  };
  const render = async (records: RelRecord[]) => {
    const counts = emptyDocTrainingCounts();
    const out: DocTrainingExample[] = [];
    for await (const e of renderDocTrainingExamples(records, opts, counts)) out.push(e);
    return { examples: out, counts };
  };
  const all = await render(job.records);
  const c = all.counts;
  const examples = sampleInOrder(all.examples, job.hyper.maxExamples ?? Infinity, job.hyper.seed);
  job.log(
    `training data: ${all.examples.length} prompt(s) of up to ${doc.k} pair(s) from ${c.records} document(s) (${c.positives} pair(s) with a relation, ${c.negatives} without)${examples.length < all.examples.length ? `, a fixed sample of ${examples.length} (--max-examples)` : ''}${c.pending ? `; ${c.pending} pair(s) pending review left out` : ''}${c.ignored ? `; ${c.ignored} pair(s) a curator ignored left out` : ''}${c.unknownLabel ? `; ${c.unknownLabel} relation(s) with labels outside ${job.relationSet.name} left out` : ''}${c.unfit ? `; ${c.unfit} pair(s) that fit no prompt of ${limit} tokens left out` : ''}`,
  );
  if (!examples.length)
    throw new InputError(
      `nothing to train on: no document has a gold, accepted or edited relation for relation set ${job.relationSet.name}`,
      job.input,
    );
  const dataFile = path.join(work, 'train.jsonl');
  const data = await writeTokenized(dataFile, examples, tok, false);
  const counts = { ...c, noAnswer: 0 };
  if (!job.dev)
    return { dataFile, data, devN: 0, counts, sampled: examples.length, unfit: c.unfit };
  const dev = (await render(job.dev.records)).examples;
  if (!dev.length)
    throw new InputError('the dev file has no labeled pairs for this relation set', job.dev.file);
  const devFile = path.join(work, 'dev.jsonl');
  const devN = (await writeTokenized(devFile, sampleInOrder(dev, 200, job.hyper.seed), tok, false))
    .n;
  return { dataFile, data, devFile, devN, counts, sampled: examples.length, unfit: c.unfit };
}

/** The trainer's events a person wants to read: its set-up and each dev evaluation. */
function logTrainerEvent(job: TrainLoraJob, e: { event: string; [k: string]: unknown }): void {
  if (e.event === 'start')
    job.log(
      `trainer: ${String(e['trainable_parameters'])} trainable parameters, ${String(e['steps'])} step(s) on ${String(e['device'])} (${String(e['threads'])} thread(s))`,
    );
  if (e.event === 'dev')
    job.log(
      `dev after epoch ${String(e['epoch'])}: loss ${String(e['loss'])}${e['accuracy'] !== undefined ? `, accuracy ${(100 * Number(e['accuracy'])).toFixed(1)}%` : ''}`,
    );
}

/** The manifest written beside the adapter: base, relation set, template, data, dev, hyper-parameters, training. */
async function adapterManifest(
  job: TrainLoraJob,
  t: { tok: PromptTokenizer; prepared: TrainerData; done: TrainerDone },
): Promise<AdapterManifest> {
  const { done } = t;
  const { data, counts, sampled, devN, unfit } = t.prepared;
  const st = await fs.stat(job.modelPath);
  return {
    kind: 'relation-lens-lora',
    version: 1,
    created: new Date().toISOString(),
    adapter: path.basename(job.out),
    ...(job.command ? { command: job.command } : {}),
    base: {
      path: job.modelPath,
      size: st.size,
      sha256: await sha256File(job.modelPath),
      chatTemplate: t.tok.chatTemplate,
    },
    relationSet: {
      name: job.relationSet.name,
      sha256: textSha256(JSON.stringify(job.relationSet)),
      labels: job.relationSet.labels.map((l) => l.name),
      noRelation: job.relationSet.noRelation ?? null,
    },
    template: { name: job.template.name, sha256: textSha256(JSON.stringify(job.template)) },
    answers: job.answerCodes ? 'codes' : 'names',
    direction: job.direction,
    rag: job.rag ?? null,
    ...(job.document
      ? { document: { k: job.document.k, none: job.document.none, unfit: unfit ?? 0 } }
      : {}),
    data: {
      file: job.input,
      sha256: await sha256File(job.input),
      examples: data.n,
      promptTokensMean: Math.round(data.promptTokens / data.n),
      ...counts,
      sampled,
    },
    // A run stopped early has no dev scores, but its held-out records are still named.
    dev: job.dev
      ? {
          file: job.dev.file,
          examples: devN,
          ...(done.dev ? { loss: done.dev.loss, accuracy: done.dev.accuracy } : {}),
          ...(job.dev.heldOut ? { heldOut: job.dev.heldOut } : {}),
        }
      : null,
    hyper: job.hyper,
    training: {
      steps: done.steps ?? 0,
      seconds: done.seconds ?? 0,
      examplesPerSecond: done.seconds
        ? Number(((done.examples_seen ?? 0) / done.seconds).toFixed(3))
        : 0,
      peakRssMb: done.peak_rss_mb,
      ...(done.device ? { device: done.device } : {}),
      ...(done.peak_gpu_mb !== undefined ? { peakGpuMb: done.peak_gpu_mb } : {}),
      stopped: !!done.stopped,
      lossCurve: done.loss_curve ?? [],
      resumedFrom: job.resumeFrom ?? null,
    },
  };
}

/** Selects, renders and tokenizes; trains; writes the adapter and its manifest. */
export async function trainLoraJob(
  job: TrainLoraJob,
): Promise<{ manifest: AdapterManifest; done: TrainerDone }> {
  const manifestFile = adapterManifestPath(job.out);
  const inputs = [job.input, job.dev?.file, job.modelPath, job.resumeFrom];
  await prepareReplace(job.out, inputs, job.force);
  await prepareReplace(manifestFile, inputs, job.force);
  const unlock = await lockOutput(job.out);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'relation-lens-train-'));
  try {
    const tok = await PromptTokenizer.open(job.modelPath, job.signal);
    const prepared = job.document
      ? await documentTrainerData(job, job.document, tok, work)
      : await sentenceTrainerData(job, tok, work);
    const { dataFile, data, devFile } = prepared;
    const h = job.hyper;
    job.log(
      `trainer: ${data.n} example(s) of ${Math.round(data.promptTokens / data.n)} prompt tokens on average, ${h.epochs} epoch(s), rank ${h.rank}, alpha ${h.alpha}, layers ${h.layers}, lr ${h.lr}, batch ${h.batchSize}`,
    );
    const train = job.trainer ?? ((a, r) => runTrainer('train', a, r));
    let layers = h.layers;
    let blocks = 0;
    const done = await train(trainerArgs(job, dataFile, devFile), {
      venv: job.venv,
      threads: job.threads,
      signal: job.signal,
      onProgress: job.onProgress,
      onEvent: (e) => {
        logTrainerEvent(job, e);
        if (e.event === 'loaded') blocks = Number(e['layers']);
        if (e.event === 'start' && Array.isArray(e['layers']))
          layers = e['layers'].length === blocks ? 'all' : `top-${e['layers'].length}`;
      },
    });
    // The manifest names the blocks trained (`--layers auto` resolved by the trainer's device).
    const manifest = await adapterManifest(
      { ...job, hyper: { ...h, layers } },
      {
        tok,
        prepared,
        done,
      },
    );
    await writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
    return { manifest, done };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
    await unlock();
  }
}
