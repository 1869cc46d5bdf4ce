/**
 * doccano's relation-extraction JSONL export, one document per line:
 *   {"id": 1, "text": "...", "entities": [{"id": 10, "label": "PER", "start_offset": 0, "end_offset": 5}],
 *    "relations": [{"id": 3, "from_id": 10, "to_id": 11, "type": "works_at"}]}
 * doccano is a Python application: offsets count code points, converted here to UTF-16.
 */
import { JsonDepthError, parseBoundedJson } from '../io/jsonDepth';
import { z } from 'zod';
import { jsonErrorPosition } from '../diagnostics';
import { Line } from '../io/lines';
import { Entity, RelRecord, zodProblems, isLive } from '../schema';
import { Collector, ImportResult, codePointOffsets, utf16ToCodePoint } from './common';

const Id = z.union([z.number(), z.string()]);
const DoccanoSchema = z
  .object({
    id: Id.optional(),
    text: z.string(),
    entities: z
      .array(
        z
          .object({
            id: Id,
            label: z.string(),
            start_offset: z.number().int().nonnegative(),
            end_offset: z.number().int().nonnegative(),
          })
          .passthrough(),
      )
      .default([]),
    relations: z
      .array(
        z.object({ id: Id.optional(), from_id: Id, to_id: Id, type: z.string() }).passthrough(),
      )
      .default([]),
  })
  .passthrough();

export async function importDoccano(
  lines: AsyncIterable<Line> | Iterable<Line>,
  file: string,
): Promise<ImportResult> {
  const c = new Collector(file);
  let n = 0;
  for await (const l of lines) {
    if (l.text === null) {
      c.skip(l.no, 'invalid UTF-8 byte sequence; line skipped');
      continue;
    }
    if (l.text.trim() === '') continue;
    let value: unknown;
    try {
      value = parseBoundedJson(l.text);
    } catch (e) {
      c.skip(
        l.no,
        e instanceof JsonDepthError
          ? `the line ${e.message}`
          : `invalid JSON: ${jsonErrorPosition(e, l.text).message}`,
      );
      continue;
    }
    const p = DoccanoSchema.safeParse(value);
    if (!p.success) {
      c.skip(l.no, zodProblems(p.error).join('; '));
      continue;
    }
    n++;
    const doc = p.data;
    const toU16 = codePointOffsets(doc.text);
    const problems: string[] = [];
    const entities: Entity[] = doc.entities.map((e) => {
      const start = toU16(e.start_offset);
      const end = toU16(e.end_offset);
      if (start === undefined || end === undefined || end < start) {
        problems.push(`entity ${e.id}: offsets ${e.start_offset}-${e.end_offset} out of range`);
        return { id: `e${e.id}`, name: '', type: e.label, mentions: [] };
      }
      return {
        id: `e${e.id}`,
        name: doc.text.slice(start, end),
        type: e.label,
        mentions: [{ start, end }],
      };
    });
    if (problems.length) {
      c.skip(l.no, problems.join('; '));
      continue;
    }
    const record: RelRecord = {
      id: doc.id !== undefined ? String(doc.id) : `doccano-${n}`,
      text: doc.text,
      entities,
      relations: doc.relations.map((r) => ({
        head: `e${r.from_id}`,
        tail: `e${r.to_id}`,
        label: r.type,
        source: 'gold' as const,
      })),
    };
    c.add(record, l.no);
  }
  return c.result();
}

/** Writes records as doccano relation JSONL (code-point offsets). Multi-mention entities become one span per mention. */
export function exportDoccano(records: RelRecord[]): string {
  return records
    .map((r) => {
      let next = 1;
      const spanIds = new Map<string, number>();
      const entities = r.entities.flatMap((e) =>
        e.mentions.map((m, i) => {
          const id = next++;
          if (i === 0) spanIds.set(e.id, id);
          return {
            id,
            label: e.type ?? 'ENTITY',
            start_offset: utf16ToCodePoint(r.text, m.start),
            end_offset: utf16ToCodePoint(r.text, m.end),
          };
        }),
      );
      const relations = r.relations
        .filter((x) => isLive(x))
        .map((x, i) => ({
          id: i + 1,
          from_id: spanIds.get(x.head),
          to_id: spanIds.get(x.tail),
          type: x.label,
        }));
      return JSON.stringify({ id: r.id, text: r.text, entities, relations }) + '\n';
    })
    .join('');
}
