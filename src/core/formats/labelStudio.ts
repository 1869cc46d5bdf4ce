/**
 * Label Studio's JSON export: an array of tasks
 *   {id, data: {text}, annotations: [{was_cancelled, result: [
 *      {id, type: "labels", to_name, value: {start, end, text, labels: [..]}},
 *      {type: "relation", from_id, to_id, direction: "right"|"left"|"bi", labels: [..]}]}],
 *    predictions: [...]}
 * Current Label Studio stores code-point offsets (older releases stored UTF-16 ones); each span
 * is checked against its `text` and the interpretation that matches is used.
 * The first annotation that was not cancelled is imported (source gold); a task with none but a
 * prediction imports the prediction (source model).
 */
import { z } from 'zod';
import { readJsonArray } from '../io/jsonArray';
import { Entity, Relation, RelRecord, zodProblems, isLive } from '../schema';
import { Collector, ImportResult, codePointOffsets, utf16ToCodePoint } from './common';

const Result = z
  .object({
    id: z.string().optional(),
    type: z.string(),
    to_name: z.string().optional(),
    from_id: z.string().optional(),
    to_id: z.string().optional(),
    direction: z.enum(['right', 'left', 'bi']).optional(),
    labels: z.array(z.string()).optional(),
    value: z
      .object({
        start: z.number().int().optional(),
        end: z.number().int().optional(),
        text: z.string().optional(),
        labels: z.array(z.string()).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();
const Completion = z
  .object({ was_cancelled: z.boolean().optional(), result: z.array(Result).default([]) })
  .passthrough();
const Task = z
  .object({
    id: z.union([z.number(), z.string()]).optional(),
    data: z.record(z.string(), z.unknown()),
    annotations: z.array(Completion).optional(),
    predictions: z.array(Completion).optional(),
  })
  .passthrough();

/**
 * Entities from a task's labelled regions: Label Studio counts offsets in code points (older
 * versions in UTF-16 units — accepted with a warning when the region's text matches); a region
 * whose offsets select other text is a problem of the task.
 */
function regionEntities(
  regions: Array<{
    id?: string;
    value?: { start?: number; end?: number; text?: string; labels?: string[] };
  }>,
  taskText: string,
  report: { warn: (message: string) => void; problems: string[] },
): { entities: Entity[]; regionToEntity: Map<string, string> } {
  const cp = codePointOffsets(taskText);
  const entities: Entity[] = [];
  const regionToEntity = new Map<string, string>();
  regions.forEach((r, i) => {
    const v = r.value!;
    const s = v.start!;
    const e = v.end!;
    const id = r.id ?? `r${i}`;
    let start = cp(s);
    let end = cp(e);
    const matches = (a?: number, b?: number) =>
      a !== undefined &&
      b !== undefined &&
      b >= a &&
      (v.text === undefined || taskText.slice(a, b) === v.text);
    if (!matches(start, end)) {
      if (matches(s, e) && e <= taskText.length) {
        start = s;
        end = e;
        report.warn(
          `region ${id} uses UTF-16 offsets (older Label Studio); accepted because its text matches`,
        );
      } else {
        report.problems.push(
          `region ${id}: offsets ${s}-${e} do not select ${JSON.stringify(v.text ?? '')}`,
        );
        return;
      }
    }
    const eid = `e${entities.length + 1}`;
    regionToEntity.set(id, eid);
    entities.push({
      id: eid,
      name: taskText.slice(start, end),
      type: v.labels?.[0] ?? null,
      mentions: [{ start: start!, end: end! }],
    });
  });
  return { entities, regionToEntity };
}

export function importLabelStudio(text: string, file: string): ImportResult {
  const c = new Collector(file);
  const arr = readJsonArray(text, file);
  c.diagnostics.push(...arr.diagnostics);
  c.skipped += arr.skipped;
  for (const el of arr.elements) {
    const p = Task.safeParse(el.value);
    if (!p.success) {
      c.skip(el.line, `task ${el.index}: ${zodProblems(p.error).join('; ')}`);
      continue;
    }
    const task = p.data;
    const annotation = task.annotations?.find((a) => !a.was_cancelled);
    const completion = annotation ?? task.predictions?.[0];
    const source = annotation ? ('gold' as const) : ('model' as const);
    const regions =
      completion?.result.filter(
        (r) => r.type === 'labels' && r.value?.start !== undefined && r.value.end !== undefined,
      ) ?? [];
    const toName = regions[0]?.to_name;
    const taskText =
      (toName && typeof task.data[toName] === 'string'
        ? (task.data[toName] as string)
        : undefined) ??
      (typeof task.data['text'] === 'string' ? (task.data['text'] as string) : undefined) ??
      (Object.values(task.data).find((v) => typeof v === 'string') as string | undefined);
    const label = `task ${task.id ?? el.index}`;
    if (taskText === undefined) {
      c.skip(el.line, `${label}: no text in "data"`);
      continue;
    }
    const problems: string[] = [];
    const { entities, regionToEntity } = regionEntities(regions, taskText, {
      warn: (m) => c.warn(el.line, `${label}: ${m}`),
      problems,
    });
    const relations: Relation[] = [];
    for (const r of completion?.result.filter((x) => x.type === 'relation') ?? []) {
      const a = r.from_id ? regionToEntity.get(r.from_id) : undefined;
      const b = r.to_id ? regionToEntity.get(r.to_id) : undefined;
      if (!a || !b) {
        problems.push(`relation ${r.from_id}→${r.to_id}: unknown region id`);
        continue;
      }
      const names = r.labels?.length ? r.labels : ['related'];
      if (!r.labels?.length)
        c.warn(
          el.line,
          `${label}: relation ${r.from_id}→${r.to_id} has no label; imported as "related"`,
        );
      for (const name of names) {
        if (r.direction !== 'left') relations.push({ head: a, tail: b, label: name, source });
        if (r.direction === 'left' || r.direction === 'bi')
          relations.push({ head: b, tail: a, label: name, source });
      }
    }
    if (problems.length) {
      c.skip(el.line, `${label}: ${problems.join('; ')}`);
      continue;
    }
    const record: RelRecord = {
      id: task.id !== undefined ? String(task.id) : `label-studio-${el.index + 1}`,
      text: taskText,
      entities,
      relations,
    };
    c.add(record, el.line);
  }
  return c.result();
}

/**
 * Records as Label Studio tasks (the JSON array its importer and exporter use): one region per
 * mention (code-point offsets, the entity type as its label) and a `relation` result per relation
 * that is not rejected, between the first mentions of its entities. Label Studio has no place for
 * grouping mentions into entities: each mention comes back as an entity of its own.
 */
export function exportLabelStudio(records: RelRecord[]): string {
  const tasks = records.map((r) => {
    const result: Array<Record<string, unknown>> = [];
    const first = new Map<string, string>();
    let n = 0;
    for (const e of r.entities)
      e.mentions.forEach((m, i) => {
        const id = `m${++n}`;
        if (i === 0) first.set(e.id, id);
        const type = m.type ?? e.type;
        result.push({
          id,
          from_name: 'label',
          to_name: 'text',
          type: 'labels',
          value: {
            start: utf16ToCodePoint(r.text, m.start),
            end: utf16ToCodePoint(r.text, m.end),
            text: r.text.slice(m.start, m.end),
            labels: type ? [type] : [],
          },
        });
      });
    for (const x of r.relations) {
      const a = first.get(x.head);
      const b = first.get(x.tail);
      if (!isLive(x) || !a || !b) continue;
      result.push({
        from_id: a,
        to_id: b,
        type: 'relation',
        direction: 'right',
        labels: [x.label],
      });
    }
    return { id: r.id, data: { text: r.text }, annotations: [{ was_cancelled: false, result }] };
  });
  return JSON.stringify(tasks, null, 1) + '\n';
}
