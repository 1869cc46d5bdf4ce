/**
 * Prompt views: the variables a template is rendered with. One per level — a sentence pair
 * (`promptView`, also what SFT export and training render) and a document batch of k pairs
 * (`docPromptView`, LMRC). Extraction, training and export all build their views here.
 */
import { Entity, RelRecord, RelationSet } from '../schema';
import { insertEntityMarkers } from '../formats/semeval';
import { PromptView } from './template';

function markSentence(r: RelRecord, head: Entity, tail: Entity): string {
  const h = head.mentions[0];
  const t = tail.mentions[0];
  return h && t ? insertEntityMarkers(r.text, h, t) : r.text;
}

/** How the prompt's relation list describes the no-relation answer. */
export const NO_RELATION_DESCRIPTION = 'none of the relations above holds';

/** The view of one pair; `label` is the gold answer (training data) or empty. */
export function promptView(
  r: RelRecord,
  head: Entity,
  tail: Entity,
  label: string,
  rs?: RelationSet,
): PromptView {
  // The answer list as extraction sends it: the labels, then the no-relation answer (once).
  const relations = (rs?.labels ?? []).map((l) => ({
    name: l.name,
    description: l.description ?? '',
  }));
  if (rs?.noRelation && !relations.some((x) => x.name === rs.noRelation))
    relations.push({ name: rs.noRelation, description: NO_RELATION_DESCRIPTION });
  return {
    id: r.id,
    text: r.text,
    sentence: r.text,
    marked_sentence: markSentence(r, head, tail),
    head: head.name,
    tail: tail.name,
    head_type: head.type ?? '',
    tail_type: tail.type ?? '',
    label,
    no_relation: rs?.noRelation ?? '',
    relations,
    relation_names: relations.map((x) => x.name).join(', '),
    examples: [],
  };
}

/** The document-level answer for a pair without a relation. */
export const NONE_ANSWER = 'None';

export interface DocPromptView {
  id: string;
  title: string;
  text: string;
  relations: Array<{ name: string; description: string }>;
  relation_names: string;
  no_relation: string;
  pair_count: number;
  pairs: Array<{ head: string; tail: string }>;
  pair_lines: string;
  /** Gold answer lines (training data). */
  answer_lines: string;
}

/** The prompt view of one batch: the set's relations (and None when allowed), the text, the pairs. */
/** The prompt view of one batch: the set's relations (and None when allowed), the text, the pairs. */
export function docPromptView(
  record: RelRecord,
  rs: RelationSet,
  opts: { none: boolean },
  pairs: Array<[Entity, Entity]>,
  text: string,
): DocPromptView {
  const names = rs.labels.map((l) => l.name);
  return {
    id: record.id,
    title:
      typeof record.meta?.['title'] === 'string' ? (record.meta['title'] as string) : record.id,
    text,
    relations: rs.labels.map((l) => ({ name: l.name, description: l.description ?? '' })),
    relation_names: (opts.none ? [...names, NONE_ANSWER] : names).join(', '),
    no_relation: opts.none ? NONE_ANSWER : '',
    pair_count: pairs.length,
    pairs: pairs.map(([h, t]) => ({ head: h.name, tail: t.name })),
    pair_lines: pairs.map(([h, t]) => `(${h.name}| -| ${t.name})`).join('\n'),
    answer_lines: '',
  };
}
