/**
 * Supervised fine-tuning sets rendered from a prompt template:
 *  - alpaca: {"instruction", "input", "output"} per line (the system text, when any, leads the instruction)
 *  - chat:   {"messages": [{role: system}, {role: user}, {role: assistant}]} per line
 * Sentence-level records give one example per pair (no relation → the no-relation label). The
 * head/tail shown follow the relation's direction, so a directed label reads "head LABEL tail".
 * Document-level records (no `pairs`) give one example per relation.
 */
import { PromptTemplate, PromptView, renderTemplate } from '../prompts/template';
import { Entity, RelRecord, RelationSet } from '../schema';
import { insertEntityMarkers } from './semeval';

function markSentence(r: RelRecord, head: Entity, tail: Entity): string {
  const h = head.mentions[0];
  const t = tail.mentions[0];
  return h && t ? insertEntityMarkers(r.text, h, t) : r.text;
}

/** How the prompt's relation list describes the no-relation answer. */
export const NO_RELATION_DESCRIPTION = 'none of the relations above holds';

export function promptView(r: RelRecord, head: Entity, tail: Entity, label: string, rs?: RelationSet): PromptView {
  // The answer list as extraction sends it: the labels, then the no-relation answer (once).
  const relations = (rs?.labels ?? []).map((l) => ({ name: l.name, description: l.description ?? '' }));
  if (rs?.noRelation && !relations.some((x) => x.name === rs.noRelation)) relations.push({ name: rs.noRelation, description: NO_RELATION_DESCRIPTION });
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

export interface SftExample {
  system?: string;
  instruction: string;
  input: string;
  output: string;
}

export function sftExamples(records: RelRecord[], template: PromptTemplate, rs?: RelationSet): SftExample[] {
  const out: SftExample[] = [];
  const none = rs?.noRelation ?? 'no_relation';
  for (const r of records) {
    const byId = new Map(r.entities.map((e) => [e.id, e]));
    const items: Array<[string, string, string]> = [];
    const live = r.relations.filter((x) => x.status !== 'rejected');
    if (r.pairs) {
      for (const [a, b] of r.pairs) {
        const rel = live.find((x) => (x.head === a && x.tail === b) || (x.head === b && x.tail === a));
        items.push(rel ? [rel.head, rel.tail, rel.label] : [a, b, none]);
      }
    } else for (const x of live) items.push([x.head, x.tail, x.label]);
    for (const [h, t, label] of items) {
      const he = byId.get(h);
      const te = byId.get(t);
      if (!he || !te) continue;
      out.push(renderTemplate(template, promptView(r, he, te, label, rs)));
    }
  }
  return out;
}

export function exportSftAlpaca(records: RelRecord[], template: PromptTemplate, rs?: RelationSet): string {
  return sftExamples(records, template, rs)
    .map((e) => JSON.stringify({ instruction: e.system ? `${e.system}\n\n${e.instruction}` : e.instruction, input: e.input, output: e.output }) + '\n')
    .join('');
}

export function exportSftChat(records: RelRecord[], template: PromptTemplate, rs?: RelationSet): string {
  return sftExamples(records, template, rs)
    .map((e) => {
      const messages = [];
      if (e.system) messages.push({ role: 'system', content: e.system });
      messages.push({ role: 'user', content: `${e.instruction}\n\n${e.input}` });
      messages.push({ role: 'assistant', content: e.output });
      return JSON.stringify({ messages }) + '\n';
    })
    .join('');
}
