/**
 * FinRE and SanWen (thunlp/Chinese_NRE): `head<TAB>tail<TAB>relation<TAB>sentence` per line,
 * FinRE with blank lines between records, plus relation2id.txt (`name id`, space or TAB).
 * One line is one classification example: a record with one pair (head → tail).
 */
import { Line } from '../io/lines';
import { RelRecord, RelationSet, isLive } from '../schema';
import { Collector, ImportResult, findOccurrence, splitFromFileName } from './common';

export interface Relation2Id {
  labels: string[];
  errors: Array<{ line: number; message: string }>;
}

/** Parses relation2id.txt: one `name<space or TAB>id` per line, in id order. */
export function parseRelation2Id(text: string): Relation2Id {
  const labels: Array<[string, number]> = [];
  const errors: Relation2Id['errors'] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const m = /^(.+?)[ \t]+(\d+)$/.exec(line);
    if (!m)
      errors.push({ line: i + 1, message: `expected "name id", found ${JSON.stringify(line)}` });
    else labels.push([m[1]!, Number(m[2])]);
  });
  labels.sort((a, b) => a[1] - b[1]);
  return { labels: labels.map((l) => l[0]), errors };
}

export function relationSetFromLabels(
  name: string,
  labels: string[],
  noRelation = 'unknown',
): RelationSet {
  const hasNone = labels.includes(noRelation);
  return {
    name,
    noRelation: hasNone ? noRelation : null,
    directed: true,
    labels: labels.filter((l) => l !== noRelation).map((l) => ({ name: l })),
  };
}

export interface ChineseTsvOptions {
  dataset: 'finre' | 'sanwen';
  /** Labels from relation2id.txt; when given, a label outside it is an error. */
  labels?: string[];
}

export async function importChineseTsv(
  lines: AsyncIterable<Line> | Iterable<Line>,
  file: string,
  opts: ChineseTsvOptions,
): Promise<ImportResult> {
  const c = new Collector(file);
  const split = splitFromFileName(file);
  const prefix = `${opts.dataset}-${split ? `${split}-` : ''}`;
  const known = opts.labels ? new Set(opts.labels) : undefined;
  const noRelation = 'unknown';
  let n = 0;
  for await (const l of lines) {
    if (l.text === null) {
      c.skip(l.no, 'invalid UTF-8 byte sequence; line skipped');
      continue;
    }
    if (l.text.trim() === '') continue;
    const fields = l.text.split('\t');
    if (fields.length !== 4) {
      c.skip(
        l.no,
        `expected 4 TAB-separated fields (head, tail, relation, sentence), found ${fields.length}`,
      );
      continue;
    }
    const [head, tail, label, sentence] = fields as [string, string, string, string];
    if (known && !known.has(label)) {
      c.skip(l.no, `relation ${JSON.stringify(label)} is not in relation2id.txt`);
      continue;
    }
    const hs = findOccurrence(sentence, head);
    if (hs < 0) {
      c.skip(l.no, `head entity ${JSON.stringify(head)} does not occur in the sentence`);
      continue;
    }
    const hSpan = { start: hs, end: hs + head.length };
    const ts = findOccurrence(sentence, tail, hSpan);
    if (ts < 0) {
      c.skip(l.no, `tail entity ${JSON.stringify(tail)} does not occur in the sentence`);
      continue;
    }
    n++;
    const record: RelRecord = {
      id: `${prefix}${n}`,
      text: sentence,
      entities: [
        { id: 'e1', name: head, type: null, mentions: [hSpan] },
        { id: 'e2', name: tail, type: null, mentions: [{ start: ts, end: ts + tail.length }] },
      ],
      relations: label === noRelation ? [] : [{ head: 'e1', tail: 'e2', label, source: 'gold' }],
      pairs: [['e1', 'e2']],
    };
    c.add(record, l.no);
  }
  return c.result(
    opts.labels ? relationSetFromLabels(opts.dataset, opts.labels, noRelation) : undefined,
  );
}

/** Writes records back as `head<TAB>tail<TAB>relation<TAB>sentence` lines (one per pair). */
export function exportChineseTsv(
  records: RelRecord[],
  noRelation = 'unknown',
  blankLines = true,
): string {
  const out: string[] = [];
  for (const r of records) {
    for (const [h, t] of r.pairs ?? []) {
      const he = r.entities.find((e) => e.id === h);
      const te = r.entities.find((e) => e.id === t);
      if (!he || !te) continue;
      const rel = r.relations.find((x) => x.head === h && x.tail === t && isLive(x));
      for (const f of [he.name, te.name, r.text])
        if (/[\t\r\n]/.test(f))
          throw new Error(
            `record ${r.id}: a TAB or line break cannot be written in this TSV format`,
          );
      out.push(
        `${he.name}\t${te.name}\t${rel?.label ?? noRelation}\t${r.text}\n${blankLines ? '\n' : ''}`,
      );
    }
  }
  return out.join('');
}
