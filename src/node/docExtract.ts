/**
 * The document-level extraction job (LMRC) shared by the CLI and the extension: documents in,
 * canonical JSONL out (appended per document, resumable), plus a run report (candidate stage,
 * prompts, tokens, alignment) and, when the relation set has DocRED ids, the DocRED submission.
 */
import { promises as fs } from 'node:fs';
import { ClassifierEngine } from '../core/ports';
import { serializeRecord } from '../core/formats/canonical';
import { toDocRedSubmission } from '../core/formats/docred';
import { DocumentOptions } from '../core/pipelines/document';
import {
  DocumentInput,
  documentInputId,
  runDocumentExtraction,
} from '../core/pipelines/documentRunner';
import { EntityProposalReport } from '../core/pipelines/entities';
import { RelRecord } from '../core/schema';
import { pathExists, readLines, writeFileAtomic } from './files';
import { RecordOutput, openRecordOutput, prepareReplace } from './output';
import { DocReport, sumReports } from '../core/pipelines/docReport';

export interface DocExtractJob {
  /** The LLM (null with mode encoder: the encoder's own relations). */
  engine: ClassifierEngine | null;
  /** Documents with entities, or raw texts whose entities the model proposes first. */
  inputs: DocumentInput[];
  options: DocumentOptions;
  out: string;
  resume: boolean;
  /** Start over on an existing output (with resume: false), or replace files this run did not create. */
  force?: boolean;
  /** The output, opened (checked and locked) by the caller before the model was loaded; else opened here. */
  output?: RecordOutput;
  /** Entity types for raw text (default: the relation set's entityTypes or DocRED's). */
  entityTypes?: string[];
  onProgress?: (p: {
    documents: number;
    totalDocuments: number;
    pairs: number;
    totalPairs: number;
    elapsedMs: number;
  }) => void;
}

export interface DocExtractResult {
  documents: number;
  skippedDocuments: number;
  report: ReturnType<typeof sumReports> & { entityProposal?: EntityProposalReport[] };
  reportFile: string;
  submissionFile?: string;
  /** Raw texts: the entities the model proposed and grounded (name and type), and the names it could not find. */
  proposedEntities: Array<{
    id: string;
    entities: string[];
    ungrounded: string[];
    /** Text chunks asked, and those whose answer was malformed or failed (no entities from them). */
    chunks: number;
    failedChunks: number;
  }>;
  elapsedMs: number;
}

export const reportPath = (out: string) => out.replace(/(\.jsonl)?$/, '.report.json');
export const submissionPath = (out: string) => out.replace(/(\.jsonl)?$/, '.submission.json');

/**
 * Opens the output of a document run: the JSONL (resumable, locked) plus its report and
 * submission files, which a fresh run may only replace with `force` when they exist already.
 */
export async function openDocOutput(
  out: string,
  opts: { inputs: Array<string | undefined>; resume: boolean; force?: boolean; command?: string },
): Promise<RecordOutput> {
  const fresh = !(await fs.stat(out).then(
    (s) => s.size > 0,
    () => false,
  ));
  if (fresh)
    for (const f of [reportPath(out), submissionPath(out)])
      await prepareReplace(f, opts.inputs, opts.force);
  return openRecordOutput(out, opts);
}

export async function runDocExtractJob(job: DocExtractJob): Promise<DocExtractResult> {
  const output =
    job.output ??
    (await openDocOutput(job.out, { inputs: [], resume: job.resume, force: job.force }));
  const done = output.done;
  const todo = job.inputs.filter((i) => !done.has(documentInputId(i)));
  const totalPairs = todo.reduce(
    (n, i) =>
      n +
      ('record' in i ? i.record.entities.length * Math.max(0, i.record.entities.length - 1) : 0),
    0,
  );
  const reports: DocReport[] = [];
  const proposals: EntityProposalReport[] = [];
  const proposed: DocExtractResult['proposedEntities'] = [];
  const t0 = Date.now();
  let pairs = 0;
  try {
    for await (const d of runDocumentExtraction(job.engine, todo, job.options, {
      entityTypes: job.entityTypes,
    })) {
      if (d.proposal) {
        proposals.push(d.proposal);
        proposed.push({
          id: d.record.id,
          entities: d.record.entities.map((e) => `${e.name}${e.type ? ` (${e.type})` : ''}`),
          ungrounded: d.proposal.ungrounded.map((u) => u.name),
          chunks: d.proposal.chunks,
          failedChunks: d.proposal.malformedOutputs + d.proposal.errors.length,
        });
      }
      await output.append(serializeRecord(d.record));
      reports.push(d.report);
      pairs += d.report.pairsIn;
      job.onProgress?.({
        documents: reports.length,
        totalDocuments: todo.length,
        pairs,
        totalPairs,
        elapsedMs: Date.now() - t0,
      });
    }
    return {
      ...(await finish(job, output, { todo: todo.length, reports, proposals, t0 })),
      proposedEntities: proposed,
    };
  } finally {
    if (!job.output) await output.close();
  }
}

/** Writes the run's report and, for DocRED relation sets, the submission of every document in the output. */
async function finish(
  job: DocExtractJob,
  output: RecordOutput,
  run: { todo: number; reports: DocReport[]; proposals: EntityProposalReport[]; t0: number },
): Promise<Omit<DocExtractResult, 'proposedEntities'>> {
  const { todo, reports, proposals, t0 } = run;
  const report = {
    ...sumReports(reports),
    ...(proposals.length ? { entityProposal: proposals } : {}),
  };
  const file = reportPath(job.out);
  // A resumed run with nothing left to do keeps the earlier run's report.
  const keepOld = todo === 0 && (await pathExists(file));
  if (!keepOld)
    await writeFileAtomic(
      file,
      JSON.stringify(
        { total: report, documents: reports, resumedDocuments: job.inputs.length - todo },
        null,
        1,
      ) + '\n',
    );
  // The submission covers every document in the output, including those of an earlier run.
  let submissionFile: string | undefined;
  if (job.options.relationSet.labels.some((l) => l.id)) {
    const all: RelRecord[] = [];
    if (await pathExists(output.file))
      for await (const line of readLines(output.file))
        if (line.text?.trim()) all.push(JSON.parse(line.text) as RelRecord);
    submissionFile = submissionPath(job.out);
    await writeFileAtomic(
      submissionFile,
      JSON.stringify(toDocRedSubmission(all, job.options.relationSet)) + '\n',
    );
  }
  return {
    documents: reports.length,
    skippedDocuments: job.inputs.length - todo,
    report,
    reportFile: file,
    submissionFile,
    elapsedMs: Date.now() - t0,
  };
}
