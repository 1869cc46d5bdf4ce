/**
 * The sentence-level extraction job shared by the CLI and the extension: reads records, runs the
 * core pipeline on the engine, and appends each finished record to the output as it goes (under
 * the output policy of ./output.ts). An interrupted run keeps what it wrote; run it again and it
 * resumes with the records that are not in the output yet.
 */
import { ClassifierEngine, ExampleRetriever } from '../core/ports';
import { serializeRecord } from '../core/formats/canonical';
import { DecodeMode } from '../core/pipelines/sentence';
import { runSentences } from './jobs';
import { PromptTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet, candidatePairs } from '../core/schema';
import { RecordOutput, openRecordOutput } from './output';
import { DirectionMode } from '../core/pipelines/answerSpace';

export interface ExtractJob {
  engine: ClassifierEngine | undefined;
  records: RelRecord[];
  relationSet: RelationSet;
  template: PromptTemplate;
  mode: DecodeMode;
  direction: DirectionMode;
  out: string;
  resume: boolean;
  /** Start over on an existing output (with resume: false), or replace a file that is not an output. */
  force?: boolean;
  /** The output, opened (checked and locked) by the caller before the model was loaded; else opened here. */
  output?: RecordOutput;
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

export async function runExtractJob(job: ExtractJob): Promise<ExtractProgress> {
  const output =
    job.output ??
    (await openRecordOutput(job.out, { inputs: [], resume: job.resume, force: job.force }));
  const done = output.done;
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
  try {
    for await (const r of runSentences(job.engine, todo, {
      relationSet: job.relationSet,
      template: job.template,
      mode: job.mode,
      direction: job.direction,
      retriever: job.retriever,
      k: job.k,
      scoreMargin: job.scoreMargin,
      answerCodes: job.answerCodes,
      signal: job.signal,
      model: job.model,
    })) {
      await output.append(serializeRecord(r.record));
      progress.records++;
      progress.pairs += r.predictions.length;
      for (const p of r.predictions) if (p.error) progress.errors.push(p.error);
      progress.elapsedMs = Date.now() - t0;
      job.onProgress?.(progress);
    }
  } finally {
    if (!job.output) await output.close();
  }
  progress.elapsedMs = Date.now() - t0;
  return progress;
}
