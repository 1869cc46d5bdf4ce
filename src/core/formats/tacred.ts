/**
 * TACRED (and TACREV / Re-TACRED) JSON: an array of
 *   {id, token: [..], subj_start, subj_end, obj_start, obj_end (inclusive token indices),
 *    subj_type, obj_type, relation}
 * The text joins the tokens with single spaces; the subject is e1 (head), the object e2 (tail).
 */
import { z } from 'zod';
import { readJsonArray } from '../io/jsonArray';
import { RelRecord, zodProblems } from '../schema';
import { Collector, ImportResult } from './common';

const TacredSchema = z
  .object({
    id: z.union([z.string(), z.number()]),
    token: z.array(z.string()).min(1),
    subj_start: z.number().int().nonnegative(),
    subj_end: z.number().int().nonnegative(),
    obj_start: z.number().int().nonnegative(),
    obj_end: z.number().int().nonnegative(),
    subj_type: z.string().optional(),
    obj_type: z.string().optional(),
    relation: z.string(),
  })
  .passthrough();

export const TACRED_NO_RELATION = 'no_relation';

export function importTacred(text: string, file: string): ImportResult {
  const c = new Collector(file);
  const arr = readJsonArray(text, file);
  c.diagnostics.push(...arr.diagnostics);
  c.skipped += arr.skipped;
  const labels = new Set<string>();
  const types = new Set<string>();
  for (const el of arr.elements) {
    const p = TacredSchema.safeParse(el.value);
    if (!p.success) {
      c.skip(el.line, `example ${el.index}: ${zodProblems(p.error).join('; ')}`);
      continue;
    }
    const ex = p.data;
    const n = ex.token.length;
    if (
      ex.subj_end < ex.subj_start ||
      ex.obj_end < ex.obj_start ||
      ex.subj_end >= n ||
      ex.obj_end >= n
    ) {
      c.skip(
        el.line,
        `example ${el.index} (${ex.id}): subject/object token span out of range (${n} tokens)`,
      );
      continue;
    }
    const starts: number[] = [];
    let text = '';
    ex.token.forEach((t, i) => {
      if (i > 0) text += ' ';
      starts.push(text.length);
      text += t;
    });
    const span = (a: number, b: number) => ({
      start: starts[a]!,
      end: starts[b]! + ex.token[b]!.length,
    });
    const s = span(ex.subj_start, ex.subj_end);
    const o = span(ex.obj_start, ex.obj_end);
    if (ex.relation !== TACRED_NO_RELATION) labels.add(ex.relation);
    if (ex.subj_type) types.add(ex.subj_type);
    if (ex.obj_type) types.add(ex.obj_type);
    const record: RelRecord = {
      id: String(ex.id),
      text,
      entities: [
        { id: 'e1', name: text.slice(s.start, s.end), type: ex.subj_type ?? null, mentions: [s] },
        { id: 'e2', name: text.slice(o.start, o.end), type: ex.obj_type ?? null, mentions: [o] },
      ],
      relations:
        ex.relation === TACRED_NO_RELATION
          ? []
          : [{ head: 'e1', tail: 'e2', label: ex.relation, source: 'gold' }],
      pairs: [['e1', 'e2']],
    };
    const docid = (ex as Record<string, unknown>)['docid'];
    if (typeof docid === 'string') record.meta = { docid };
    c.add(record, el.line);
  }
  return c.result(
    labels.size
      ? {
          name: 'tacred',
          noRelation: TACRED_NO_RELATION,
          directed: true,
          labels: [...labels].sort().map((name) => ({ name })),
          entityTypes: [...types].sort(),
        }
      : undefined,
  );
}
