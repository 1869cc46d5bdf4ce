/**
 * The one document-level run (LMRC), shared by the CLI job and the engine process: documents (or
 * raw texts whose entities the model proposes first) in, finished records out, one at a time, so
 * the caller decides where each goes (a file, the IPC channel).
 */
import { ClassifierEngine } from '../ports';
import { RelRecord, validateRecord } from '../schema';
import { DocumentOptions, extractDocument } from './document';
import { EntityProposalReport, proposeEntities } from './entities';
import { DocReport } from './docReport';

export type DocumentInput = { record: RelRecord } | { id: string; text: string };

export interface ExtractedDocument {
  record: RelRecord;
  report: DocReport;
  /** Raw text: what the entity proposal stage did. */
  proposal?: EntityProposalReport;
}

export const documentInputId = (i: DocumentInput): string => ('record' in i ? i.record.id : i.id);

export async function* runDocumentExtraction(
  engine: ClassifierEngine,
  inputs: Iterable<DocumentInput> | AsyncIterable<DocumentInput>,
  options: DocumentOptions,
  opts: { entityTypes?: string[]; onStage?: (message: string) => void } = {},
): AsyncGenerator<ExtractedDocument> {
  for await (const input of inputs) {
    let record: RelRecord;
    let proposal: EntityProposalReport | undefined;
    if ('record' in input) record = input.record;
    else {
      opts.onStage?.(`finding entities in ${input.id}`);
      const p = await proposeEntities(engine, input.id, input.text, {
        types: opts.entityTypes ?? options.relationSet.entityTypes,
        signal: options.signal,
      });
      proposal = p.report;
      record = p.record;
    }
    const r = await extractDocument(engine, record, options);
    const checked = validateRecord(r.record);
    if (!checked.ok)
      throw new Error(
        `internal error: document ${record.id} produced an invalid record: ${checked.problems.join('; ')}`,
      );
    yield { record: r.record, report: r.report, ...(proposal ? { proposal } : {}) };
  }
}
