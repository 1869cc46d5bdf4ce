/**
 * Supervised fine-tuning sets rendered from a prompt template:
 *  - alpaca: {"instruction", "input", "output"} per line (the system text, when any, leads the instruction)
 *  - chat:   {"messages": [{role: system}, {role: user}, {role: assistant}]} per line
 * Sentence-level records give one example per pair (no relation → the no-relation label). The
 * head/tail shown follow the relation's direction, so a directed label reads "head LABEL tail".
 * Document-level records (no `pairs`) give one example per relation.
 */
import { PromptTemplate, renderTemplate } from '../prompts/template';
import { promptView } from '../prompts/views';
import { RelRecord, RelationSet, isLive } from '../schema';

export interface SftExample {
  system?: string;
  instruction: string;
  input: string;
  output: string;
}

export function sftExamples(
  records: RelRecord[],
  template: PromptTemplate,
  rs?: RelationSet,
): SftExample[] {
  const out: SftExample[] = [];
  const none = rs?.noRelation ?? 'no_relation';
  for (const r of records) {
    const byId = new Map(r.entities.map((e) => [e.id, e]));
    const items: Array<[string, string, string]> = [];
    const live = r.relations.filter((x) => isLive(x));
    if (r.pairs) {
      for (const [a, b] of r.pairs) {
        const rel = live.find(
          (x) => (x.head === a && x.tail === b) || (x.head === b && x.tail === a),
        );
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

export function exportSftAlpaca(
  records: RelRecord[],
  template: PromptTemplate,
  rs?: RelationSet,
): string {
  return sftExamples(records, template, rs)
    .map(
      (e) =>
        JSON.stringify({
          instruction: e.system ? `${e.system}\n\n${e.instruction}` : e.instruction,
          input: e.input,
          output: e.output,
        }) + '\n',
    )
    .join('');
}

export function exportSftChat(
  records: RelRecord[],
  template: PromptTemplate,
  rs?: RelationSet,
): string {
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
