/**
 * The one document-level run (LMRC), shared by the CLI job and the engine process: documents (or
 * raw texts whose entities the model proposes first) in, finished records out, one at a time, so
 * the caller decides where each goes (a file, the IPC channel).
 */
import { ClassifierEngine } from '../ports';
import { RelRecord, validateRecord } from '../schema';
import { DocumentOptions, extractDocument, extractDocumentWithEncoder } from './document';
import { EntityProposalReport, emptyEntityProposalReport, proposeEntities } from './entities';
import { DocReport } from './docReport';

export type DocumentInput = { record: RelRecord } | { id: string; text: string };

export interface ExtractedDocument {
  record: RelRecord;
  report: DocReport;
  /** Raw text: what the entity proposal stage did. */
  proposal?: EntityProposalReport;
}

export const documentInputId = (i: DocumentInput): string => ('record' in i ? i.record.id : i.id);

/**
 * Runs documents one by one. Plain texts get their entities from the document encoder when the
 * options have one, else from the LLM; `mode: 'encoder'` needs no LLM (engine may be null).
 */
export async function* runDocumentExtraction(
  engine: ClassifierEngine | null,
  inputs: Iterable<DocumentInput> | AsyncIterable<DocumentInput>,
  options: DocumentOptions,
  opts: { entityTypes?: string[]; onStage?: (message: string) => void } = {},
): AsyncGenerator<ExtractedDocument> {
  for await (const input of inputs) {
    let record: RelRecord;
    let proposal: EntityProposalReport | undefined;
    if ('record' in input) record = input.record;
    else if (options.encoder) {
      opts.onStage?.(`finding entities in ${input.id} (encoder)`);
      record = await options.encoder.recordFromText(input.id, input.text);
      proposal = encoderProposal(record);
    } else {
      if (!engine)
        throw new Error('plain text needs an LLM or a document encoder to find entities');
      opts.onStage?.(`finding entities in ${input.id}`);
      const p = await proposeEntities(engine, input.id, input.text, {
        types: opts.entityTypes ?? options.relationSet.entityTypes,
        signal: options.signal,
      });
      proposal = p.report;
      record = p.record;
    }
    let r: { record: RelRecord; report: DocReport };
    if (options.mode === 'encoder') {
      if (!options.encoder) throw new Error('mode encoder needs a document encoder');
      r = await extractDocumentWithEncoder(options.encoder, record, options);
    } else {
      if (!engine) throw new Error('document extraction needs an LLM (or mode encoder)');
      r = await extractDocument(engine, record, options);
    }
    const checked = validateRecord(r.record);
    if (!checked.ok)
      throw new Error(
        `internal error: document ${record.id} produced an invalid record: ${checked.problems.join('; ')}`,
      );
    yield { record: r.record, report: r.report, ...(proposal ? { proposal } : {}) };
  }
}

/** What the entity stage did when the encoder found the mentions (one pass, nothing ungrounded). */
function encoderProposal(record: RelRecord): EntityProposalReport {
  const mentions = record.entities.reduce((n, e) => n + e.mentions.length, 0);
  return { ...emptyEntityProposalReport(1), proposed: mentions, grounded: { encoder: mentions } };
}
