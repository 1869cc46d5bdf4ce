/**
 * Document-level (LMRC) training data: the prompts extraction sends for a document — k entity
 * pairs per prompt, the seed's Appendix A template, the document's text (or a window of it) — and
 * as the answer the `(head| relation| tail)` lines the aligner reads back, one or more per pair
 * in the prompt's order (`(head| None| tail)` for a pair without a relation when the template
 * allows None). Positive pairs are the relations a curator settled (gold, human-made, accepted);
 * with None allowed, a fixed sample of the other pairs are the negatives.
 */
import { ChatPrompt } from '../ports';
import { planBatches } from '../pipelines/docPlan';
import { pairKey } from '../pipelines/pairFilter';
import { PromptTemplate, chatPrompt } from '../prompts/template';
import { NONE_ANSWER, docPromptView } from '../prompts/views';
import { Entity, RelRecord, RelationSet, candidatePairs, isIgnoredRecord } from '../schema';
import { mulberry32, shuffled } from '../util/random';
import { trusted } from './trainingSet';

export interface DocTrainingOptions {
  relationSet: RelationSet;
  template: PromptTemplate;
  /** The template lets a pair be answered None (`lmrc`); without it only related pairs are trained on. */
  none: boolean;
  /** Pairs per prompt (extract-doc's `--pairs-per-prompt`). */
  k: number;
  /** Negative pairs sampled per positive pair of a document (default 1; only with `none`). */
  negativesPerPositive?: number;
  /**
   * The pairs a candidate filter keeps, by record id (pair keys): negatives are drawn from them,
   * the pairs extraction will ask about, instead of from every pair.
   */
  kept?: Map<string, Set<string>>;
  /** Lines a pair may get (extraction's bound, default 2). */
  maxRelationsPerPair?: number;
  seed: number;
  /** Whether a prompt of these pairs and text fits (extraction's context test); default: always. */
  fits?: (prompt: ChatPrompt, answer: string) => boolean | Promise<boolean>;
}

export interface DocTrainingCounts {
  records: number;
  positives: number;
  negatives: number;
  /** Pairs left out because a prediction on them is pending review. */
  pending: number;
  /** Pairs a curator ignored, and the pairs of ignored documents (meta.ignored). */
  ignored: number;
  /** Relations left out because their label is not in the relation set. */
  unknownLabel: number;
  /** Pairs that did not fit the context even alone in a window. */
  unfit: number;
}

export const emptyDocTrainingCounts = (): DocTrainingCounts => ({
  records: 0,
  positives: 0,
  negatives: 0,
  pending: 0,
  ignored: 0,
  unknownLabel: 0,
  unfit: 0,
});

export interface DocTrainingExample {
  record: RelRecord;
  prompt: ChatPrompt;
  /** The answer lines, each ending with a newline, as constrained generation writes them. */
  answer: string;
  pairs: number;
}

/** The pairs of one document to train on, with their settled labels ([] = no relation). */
export function documentPairs(
  r: RelRecord,
  o: Pick<DocTrainingOptions, 'relationSet' | 'none' | 'negativesPerPositive' | 'kept'>,
  rand: () => number,
  counts: DocTrainingCounts,
): Array<{ pair: [string, string]; labels: string[] }> {
  const names = o.relationSet.labels.map((l) => l.name);
  // A relation is labelled by name, or by the set's id for it (DocRED's P-numbers).
  const nameOf = new Map<string, string>([
    ...o.relationSet.labels.flatMap((l) => (l.id ? [[l.id, l.name] as [string, string]] : [])),
    ...names.map((n) => [n, n] as [string, string]),
  ]);
  const labels = new Map<string, string[]>();
  if (isIgnoredRecord(r)) {
    counts.ignored += candidatePairs(r).length;
    return [];
  }
  // Pairs with a prediction pending review or a relation a curator ignored: neither side.
  const pending = new Set<string>();
  const ignored = new Set<string>();
  for (const x of r.relations) {
    const k = pairKey(x.head, x.tail);
    if (x.source === 'model' && (x.status ?? 'pending') === 'pending') pending.add(k);
    if (x.status === 'ignored') ignored.add(k);
    if (trusted(x) === undefined) continue;
    const name = nameOf.get(x.label);
    if (name === undefined) {
      counts.unknownLabel++;
      continue;
    }
    labels.set(k, [...new Set([...(labels.get(k) ?? []), name])]);
  }
  for (const k of ignored) pending.delete(k);
  const positives = new Set([...labels.keys()].filter((k) => !pending.has(k) && !ignored.has(k)));
  counts.pending += pending.size;
  counts.ignored += ignored.size;
  const candidates = candidatePairs(r);
  const chosen = new Set(positives);
  if (o.none) {
    const kept = o.kept?.get(r.id);
    const others = candidates.filter(
      ([h, t]) =>
        !labels.has(pairKey(h, t)) &&
        !pending.has(pairKey(h, t)) &&
        !ignored.has(pairKey(h, t)) &&
        (!kept || kept.has(pairKey(h, t))),
    );
    const n = Math.min(others.length, Math.round(positives.size * (o.negativesPerPositive ?? 1)));
    for (const [h, t] of shuffled(others, rand).slice(0, n)) chosen.add(pairKey(h, t));
    counts.negatives += n;
  }
  counts.positives += positives.size;
  if (chosen.size) counts.records++;
  // In the candidates' order, as extraction batches them; relations on other pairs at the end.
  const order = [...new Set([...candidates.map(([h, t]) => pairKey(h, t)), ...positives])];
  return order
    .filter((k) => chosen.has(k))
    .map((k) => {
      const [h, t] = k.split('\u0000') as [string, string];
      const ls = (labels.get(k) ?? []).sort((a, b) => names.indexOf(a) - names.indexOf(b));
      return { pair: [h, t] as [string, string], labels: positives.has(k) ? ls : [] };
    });
}

/** The answer lines of a batch's pairs, in the prompt's order. */
export function answerLines(
  pairs: Array<[Entity, Entity]>,
  labelsOf: (h: string, t: string) => string[],
  maxPerPair: number,
): string {
  return pairs
    .map(([h, t]) => {
      const ls = labelsOf(h.id, t.id);
      return (ls.length ? ls.slice(0, maxPerPair) : [NONE_ANSWER])
        .map((l) => `(${h.name}| ${l}| ${t.name})\n`)
        .join('');
    })
    .join('');
}

/**
 * The training prompts of the documents, k pairs each (the same batches, windows and prompt
 * text as extraction), with their answers. `counts` is filled in as documents are read.
 */
export async function* renderDocTrainingExamples(
  records: RelRecord[],
  o: DocTrainingOptions,
  counts: DocTrainingCounts,
): AsyncGenerator<DocTrainingExample> {
  const rand = mulberry32(o.seed);
  const maxPer = Math.max(1, o.maxRelationsPerPair ?? 2);
  for (const r of records) {
    const chosen = documentPairs(r, o, rand, counts);
    if (!chosen.length) continue;
    const byId = new Map(r.entities.map((e) => [e.id, e]));
    const labels = new Map(chosen.map((c) => [pairKey(...c.pair), c.labels]));
    const labelsOf = (h: string, t: string) => labels.get(pairKey(h, t)) ?? [];
    const render = (pairs: Array<[string, string]>, text: string) => {
      const ents = pairs.map(([h, t]) => [byId.get(h)!, byId.get(t)!] as [Entity, Entity]);
      return {
        prompt: chatPrompt(o.template, docPromptView(r, o.relationSet, o, ents, text)),
        answer: answerLines(ents, labelsOf, maxPer),
      };
    };
    const known = chosen.filter((c) => byId.has(c.pair[0]) && byId.has(c.pair[1]));
    const { batches, unfit } = await planBatches(
      r,
      known.map((c) => c.pair),
      o.k,
      (b) => {
        const x = render(b.pairs, b.text);
        return o.fits ? o.fits(x.prompt, x.answer) : true;
      },
    );
    counts.unfit += unfit.length;
    for (const b of batches) yield { record: r, ...render(b.pairs, b.text), pairs: b.pairs.length };
  }
}
