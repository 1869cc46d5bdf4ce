/**
 * Labeled training examples for retrieval (RAG4RE): one per entity pair of a labeled record,
 * with its label and direction relative to the pair, so that a demonstration can be rendered in
 * the same answer format the model is asked to use.
 */
import { RelRecord, candidatePairs, isLive } from '../schema';

export interface TrainingExample {
  /** `recordId#pairIndex`. */
  id: string;
  recordId: string;
  sentence: string;
  head: string;
  tail: string;
  /** Canonical label, or null for "no relation". */
  label: string | null;
  /** True when the relation goes tail → head relative to the pair. */
  reversed: boolean;
}

export function examplesFromRecords(
  records: RelRecord[],
  noRelation?: string | null,
): TrainingExample[] {
  const out: TrainingExample[] = [];
  for (const r of records) {
    const byId = new Map(r.entities.map((e) => [e.id, e]));
    candidatePairs(r).forEach(([a, b], i) => {
      const h = byId.get(a);
      const t = byId.get(b);
      if (!h || !t) return;
      const rel = r.relations.find(
        (x) =>
          isLive(x) &&
          x.label !== noRelation &&
          ((x.head === a && x.tail === b) || (x.head === b && x.tail === a)),
      );
      out.push({
        id: `${r.id}#${i}`,
        recordId: r.id,
        sentence: r.text,
        head: h.name,
        tail: t.name,
        label: rel?.label ?? null,
        reversed: rel ? rel.head === b : false,
      });
    });
  }
  return out;
}

/** The text a retriever indexes and queries for an example: the sentence. */
export function retrievalText(sentence: string): string {
  return sentence;
}
