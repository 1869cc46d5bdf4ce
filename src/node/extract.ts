/**
 * The sentence-level extraction job shared by the CLI and the extension: reads records, runs the
 * core pipeline on the engine, and appends each finished record to the output as it goes. An
 * interrupted run keeps what it wrote; run it again and it resumes after the last complete line.
 */
import { promises as fs } from 'node:fs';
import { ClassifierEngine } from '../core/ports';
import { serializeRecord } from '../core/formats/canonical';
import { runSentenceExtraction } from '../core/pipelines/runner';
import { DecodeMode, DirectionMode, ExampleRetriever, answerSpace } from '../core/pipelines/sentence';
import { PromptTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet, candidatePairs } from '../core/schema';

export interface ExtractJob {
  engine: ClassifierEngine | undefined;
  records: RelRecord[];
  relationSet: RelationSet;
  template: PromptTemplate;
  mode: DecodeMode;
  direction: DirectionMode;
  out: string;
  resume: boolean;
  model: string;
  retriever?: ExampleRetriever;
  k?: number;
  scoreMargin?: number;
  answerCodes?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: ExtractProgress) => void;
}

export interface ExtractProgress {
  records: number;
  totalRecords: number;
  pairs: number;
  totalPairs: number;
  skippedRecords: number;
  errors: string[];
  elapsedMs: number;
}

/** Ids of the complete records already in `out`; a torn last line is cut off. */
export async function completedIds(out: string): Promise<Set<string>> {
  const done = new Set<string>();
  let buf: Buffer;
  try {
    buf = await fs.readFile(out);
  } catch {
    return done;
  }
  let goodEnd = 0;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    const line = buf.subarray(start, nl).toString('utf8');
    try {
      const v = JSON.parse(line) as { id?: unknown };
      if (typeof v.id === 'string') done.add(v.id);
      goodEnd = nl + 1;
    } catch {
      break;
    }
    start = nl + 1;
  }
  if (goodEnd < buf.length) await fs.truncate(out, goodEnd);
  return done;
}

export async function runExtractJob(job: ExtractJob): Promise<ExtractProgress> {
  const space = answerSpace(job.relationSet, job.direction);
  const done = job.resume ? await completedIds(job.out) : new Set<string>();
  if (!job.resume) await fs.writeFile(job.out, '');
  const todo = job.records.filter((r) => !done.has(r.id));
  const progress: ExtractProgress = {
    records: 0,
    totalRecords: todo.length,
    pairs: 0,
    totalPairs: todo.reduce((n, r) => n + candidatePairs(r).length, 0),
    skippedRecords: job.records.length - todo.length,
    errors: [],
    elapsedMs: 0,
  };
  const t0 = Date.now();
  const fh = await fs.open(job.out, 'a');
  try {
    for await (const r of runSentenceExtraction(job.engine, todo, space, {
      relationSet: job.relationSet,
      template: job.template,
      mode: job.mode,
      direction: job.direction,
      retriever: job.retriever,
      k: job.k,
      scoreMargin: job.scoreMargin,
      answerCodes: job.answerCodes,
      signal: job.signal,
      keepTop: 3,
      inFlight: job.engine?.info.parallel ?? 4,
      model: job.model,
    })) {
      await fh.write(serializeRecord(r.record) + '\n');
      progress.records++;
      progress.pairs += r.predictions.length;
      for (const p of r.predictions) if (p.error) progress.errors.push(p.error);
      progress.elapsedMs = Date.now() - t0;
      job.onProgress?.(progress);
    }
  } finally {
    await fh.close();
  }
  progress.elapsedMs = Date.now() - t0;
  return progress;
}
