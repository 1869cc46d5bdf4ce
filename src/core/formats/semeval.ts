/**
 * SemEval-2010 Task 8. The TXT release is blocks of four lines:
 *   8001<TAB>"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
 *   Message-Topic(e1,e2)
 *   Comment: ...
 *   (blank)
 * In the canonical model the direction lives in head/tail: `Cause-Effect(e2,e1)` becomes a
 * relation with head e2 and tail e1 and label `Cause-Effect`; `Other` is a pair with no relation.
 */
import { Line } from '../io/lines';
import { RelRecord, RelationSet, isLive } from '../schema';
import { Collector, ImportResult, splitFromFileName } from './common';

export const SEMEVAL_RELATIONS: RelationSet = {
  name: 'semeval2010-task8',
  description:
    'SemEval-2010 Task 8: nine directed semantic relations between nominals, plus Other.',
  noRelation: 'Other',
  directed: true,
  labels: [
    { name: 'Cause-Effect', description: 'An event or object leads to an effect.' },
    { name: 'Component-Whole', description: 'An object is a component of a larger whole.' },
    {
      name: 'Content-Container',
      description: 'An object is physically stored in a delineated area of space.',
    },
    { name: 'Entity-Destination', description: 'An entity is moving towards a destination.' },
    {
      name: 'Entity-Origin',
      description: 'An entity is coming or is derived from an origin (position or material).',
    },
    { name: 'Instrument-Agency', description: 'An agent uses an instrument.' },
    {
      name: 'Member-Collection',
      description: 'A member forms a nonfunctional part of a collection.',
    },
    { name: 'Message-Topic', description: 'A message, written or spoken, is about a topic.' },
    { name: 'Product-Producer', description: 'A producer causes a product to exist.' },
  ],
};

const LABEL_RE = /^([A-Za-z]+-[A-Za-z]+)\((e[12]),(e[12])\)$/;

/** Parses a SemEval label into (relation, head, tail), or null for `Other`. */
export function parseSemEvalLabel(
  label: string,
): { label: string; head: 'e1' | 'e2'; tail: 'e1' | 'e2' } | null | undefined {
  if (label === 'Other') return null;
  const m = LABEL_RE.exec(label);
  if (!m || m[2] === m[3]) return undefined;
  return { label: m[1]!, head: m[2] as 'e1' | 'e2', tail: m[3] as 'e1' | 'e2' };
}

export function formatSemEvalLabel(label: string, head: string, tail: string): string {
  return `${label}(${head},${tail})`;
}

/** Strips `<e1>…</e1>` and `<e2>…</e2>` from a sentence, returning the plain text and the spans. */
export function stripEntityMarkers(
  marked: string,
): { text: string; spans: Record<'e1' | 'e2', { start: number; end: number }> } | string {
  const spans: Partial<Record<'e1' | 'e2', { start: number; end: number }>> = {};
  let text = '';
  const re = /<(\/?)(e[12])>/g;
  let last = 0;
  const open: Partial<Record<string, number>> = {};
  for (let m = re.exec(marked); m; m = re.exec(marked)) {
    text += marked.slice(last, m.index);
    last = m.index + m[0].length;
    const tag = m[2] as 'e1' | 'e2';
    if (m[1] === '') {
      if (open[tag] !== undefined || spans[tag]) return `<${tag}> appears twice`;
      open[tag] = text.length;
    } else {
      const s = open[tag];
      if (s === undefined) return `</${tag}> without <${tag}>`;
      spans[tag] = { start: s, end: text.length };
      open[tag] = undefined;
    }
  }
  text += marked.slice(last);
  if (!spans.e1 || !spans.e2) return `missing ${!spans.e1 ? '<e1>…</e1>' : '<e2>…</e2>'} marker`;
  return { text, spans: spans as Record<'e1' | 'e2', { start: number; end: number }> };
}

/** The inverse of stripEntityMarkers: `text` with `<e1>…</e1>` around `e1` and `<e2>…</e2>` around `e2`. */
export function insertEntityMarkers(
  text: string,
  e1: { start: number; end: number },
  e2: { start: number; end: number },
): string {
  const marks = [
    { at: e1.start, tag: '<e1>', order: 1 },
    { at: e1.end, tag: '</e1>', order: 0 },
    { at: e2.start, tag: '<e2>', order: 1 },
    { at: e2.end, tag: '</e2>', order: 0 },
  ].sort((x, y) => x.at - y.at || x.order - y.order);
  let out = '';
  let last = 0;
  for (const k of marks) {
    out += text.slice(last, k.at) + k.tag;
    last = k.at;
  }
  return out + text.slice(last);
}

/** Reads the SemEval-2010 Task 8 TXT format. */
type Block = { start: number; lines: Line[] };

/** One SemEval block (sentence, label, comment lines) as a record, or a skip naming the line. */
function semevalBlock(b: Block, c: Collector, prefix: string): void {
  const [sl, ll, cl] = b.lines;
  if (!sl || sl.text === null) return c.skip(b.start, 'invalid UTF-8 in the sentence line');
  const m = /^\s*(\d+)\t"(.*)"\s*$/.exec(sl.text);
  if (!m)
    return c.skip(
      sl.no,
      'expected `ID<TAB>"sentence"` (a number, one TAB, the sentence in double quotes)',
    );
  const sid = m[1]!;
  const marked = m[2]!;
  const stripped = stripEntityMarkers(marked);
  if (typeof stripped === 'string') return c.skip(sl.no, `sentence ${sid}: ${stripped}`);
  if (!ll || ll.text === null)
    return c.skip(b.start, `sentence ${sid}: missing relation label line`);
  const labelText = ll.text.trim();
  const parsed = parseSemEvalLabel(labelText);
  if (parsed === undefined)
    return c.skip(
      ll.no,
      `sentence ${sid}: bad relation label ${JSON.stringify(labelText)} (expected e.g. Cause-Effect(e2,e1) or Other)`,
    );
  if (parsed && !SEMEVAL_RELATIONS.labels.some((l) => l.name === parsed.label))
    c.warn(
      ll.no,
      `sentence ${sid}: relation ${parsed.label} is not one of the nine SemEval relations`,
    );
  let comment: string | undefined;
  if (cl) {
    if (cl.text === null) c.warn(cl.no, 'invalid UTF-8 in the comment line; comment dropped');
    else if (cl.text.startsWith('Comment:')) comment = cl.text.slice('Comment:'.length);
    else c.warn(cl.no, `sentence ${sid}: expected a "Comment:" line`);
  }
  for (const extra of b.lines.slice(3))
    c.warn(extra.no, `sentence ${sid}: unexpected extra line in block ignored`);
  const { text, spans } = stripped;
  const record: RelRecord = {
    id: prefix + sid,
    text,
    entities: [
      {
        id: 'e1',
        name: text.slice(spans.e1.start, spans.e1.end),
        type: null,
        mentions: [spans.e1],
      },
      {
        id: 'e2',
        name: text.slice(spans.e2.start, spans.e2.end),
        type: null,
        mentions: [spans.e2],
      },
    ],
    relations: parsed
      ? [{ head: parsed.head, tail: parsed.tail, label: parsed.label, source: 'gold' }]
      : [],
    pairs: [['e1', 'e2']],
    meta: comment === undefined ? { semevalId: sid } : { semevalId: sid, comment },
  };
  c.add(record, sl.no);
}

export async function importSemEval(
  lines: AsyncIterable<Line> | Iterable<Line>,
  file: string,
): Promise<ImportResult> {
  const c = new Collector(file);
  const split = splitFromFileName(file);
  const prefix = split ? `semeval-${split}-` : 'semeval-';
  let block: Block | undefined;

  const finish = (b: Block): void => semevalBlock(b, c, prefix);

  for await (const l of lines) {
    const blank = l.text !== null && l.text.trim() === '';
    if (blank) {
      if (block) finish(block);
      block = undefined;
      continue;
    }
    // A sentence line always starts a block, also when the blank separator (and the Comment:
    // line, or even the label line) of the block before is missing: the short block is reported.
    if (block && l.text !== null && /^\s*\d+\t"/.test(l.text)) {
      c.warn(l.no, 'missing blank line between blocks');
      finish(block);
      block = undefined;
    }
    if (!block) block = { start: l.no, lines: [] };
    block.lines.push(l);
  }
  if (block) finish(block);
  return c.result(SEMEVAL_RELATIONS);
}

/** The SemEval id of a record: meta.semevalId, else the trailing number of its id. */
export function semevalId(r: RelRecord): string | undefined {
  const m = r.meta?.['semevalId'];
  if (typeof m === 'string' || typeof m === 'number') return String(m);
  return /(\d+)$/.exec(r.id)?.[1];
}

/**
 * The 19-way SemEval label of a record's first pair: `Rel(e1,e2)`, `Rel(e2,e1)` or `Other`. The
 * direction comes from the relation's head/tail relative to the pair order. When several
 * relations hold for the pair, the one with the highest score wins.
 */
export function semevalLabelOf(r: RelRecord): string {
  const pair =
    r.pairs?.[0] ?? (r.entities.length >= 2 ? [r.entities[0]!.id, r.entities[1]!.id] : undefined);
  if (!pair) return 'Other';
  const [a, b] = pair;
  const rels = r.relations
    .filter((x) => isLive(x) && ((x.head === a && x.tail === b) || (x.head === b && x.tail === a)))
    .filter((x) => x.label !== 'Other');
  if (rels.length === 0) return 'Other';
  const best = rels.reduce((p, q) => ((q.score ?? 1) > (p.score ?? 1) ? q : p));
  return best.head === a
    ? formatSemEvalLabel(best.label, 'e1', 'e2')
    : formatSemEvalLabel(best.label, 'e2', 'e1');
}

/** The answer format of the official scorer: `ID<TAB>LABEL` per line. */
export function exportSemEvalAnswers(records: RelRecord[]): string {
  return records.map((r) => `${semevalId(r) ?? r.id}\t${semevalLabelOf(r)}\n`).join('');
}

/** Writes records back in the TXT release format (CRLF line ends, like the release). */
export function exportSemEvalTxt(records: RelRecord[]): string {
  const out: string[] = [];
  for (const r of records) {
    const pair = r.pairs?.[0] ?? [r.entities[0]?.id, r.entities[1]?.id];
    const e1 = r.entities.find((e) => e.id === pair[0]);
    const e2 = r.entities.find((e) => e.id === pair[1]);
    const m1 = e1?.mentions[0];
    const m2 = e2?.mentions[0];
    if (!m1 || !m2)
      throw new Error(`record ${r.id}: SemEval export needs two entities with a mention each`);
    const marked = insertEntityMarkers(r.text, m1, m2);
    const comment = r.meta?.['comment'];
    out.push(
      `${semevalId(r) ?? r.id}\t"${marked}"\r\n${semevalLabelOf(r)}\r\nComment:${typeof comment === 'string' ? comment : ''}\r\n\r\n`,
    );
  }
  return out.join('');
}
