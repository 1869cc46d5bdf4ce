/**
 * brat standoff (https://brat.nlplab.org/standoff.html): a folder with one `NAME.txt` (the text)
 * and `NAME.ann` per document, plus the folder's `annotation.conf` and `visual.conf`:
 *   T1<TAB>PER 0 11<TAB>Marie Curie        a mention (character offsets: code points)
 *   R1<TAB>place_of_birth Arg1:T1 Arg2:T3  a relation between two mentions
 *   *<TAB>Equiv T1 T4                      mentions of one entity
 * brat types cannot hold spaces or most punctuation, so a label or entity type is written as a
 * type of letters, digits, `_` and `-`, and `visual.conf` maps each type back to its name
 * (`place_of_birth | place of birth`: brat shows the name; the importer reads it back).
 * NAME is the record id, percent-encoded, so ids survive the round trip.
 *
 * Kept: ids, texts, entities (type, mentions, grouping), relations that are not rejected.
 * Not kept (brat has no place for them): sentences, candidate pairs, scores, statuses, evidence.
 */
import { Entity, RelRecord, Relation, isLive } from '../schema';
import { Collector, codePointOffsets, utf16ToCodePoint } from './common';

const NO_TYPE = 'ENTITY';

/** A brat type for a name: letters, digits, `_`, `-`; other characters become `_`. */
function typeName(name: string): string {
  const t = name.replace(/[^\p{L}\p{N}_-]/gu, '_');
  return t || '_';
}

/** Unique brat types for names (a suffix when two names map to one type). */
function typeTable(names: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const n of names) {
    if (out.has(n)) continue;
    let t = typeName(n);
    for (let k = 2; used.has(t); k++) t = `${typeName(n)}-${k}`;
    used.add(t);
    out.set(n, t);
  }
  return out;
}

/** A file stem from a record id (percent-encoded; also `*` and a leading `.`). */
export function bratStem(id: string): string {
  return encodeURIComponent(id).replace(/\*/g, '%2A').replace(/^\./, '%2E');
}

export interface BratFile {
  name: string;
  data: string;
}

/** The files of a brat folder for the records: NAME.txt and NAME.ann each, annotation.conf, visual.conf. */
export function exportBrat(records: RelRecord[]): BratFile[] {
  const entityTypes = typeTable(
    records.flatMap((r) =>
      r.entities.flatMap((e) => [
        e.type ?? NO_TYPE,
        ...e.mentions.map((m) => m.type ?? e.type ?? NO_TYPE),
      ]),
    ),
  );
  const live = (r: RelRecord) => r.relations.filter((x) => isLive(x));
  const relTypes = typeTable(records.flatMap((r) => live(r).map((x) => x.label)));
  const files: BratFile[] = [];
  const stems = new Set<string>();
  for (const r of records) {
    const stem = bratStem(r.id);
    if (stems.has(stem)) throw new Error(`two records have the id ${JSON.stringify(r.id)}`);
    stems.add(stem);
    const lines: string[] = [];
    const first = new Map<string, string>();
    let t = 0;
    for (const e of r.entities) {
      const ids: string[] = [];
      for (const m of e.mentions) {
        const id = `T${++t}`;
        ids.push(id);
        const type = entityTypes.get(m.type ?? e.type ?? NO_TYPE)!;
        const a = utf16ToCodePoint(r.text, m.start);
        const b = utf16ToCodePoint(r.text, m.end);
        // brat shows the covered text after the offsets; newlines inside it would break the line.
        lines.push(
          `${id}\t${type} ${a} ${b}\t${r.text.slice(m.start, m.end).replace(/[\r\n\t]/g, ' ')}`,
        );
      }
      if (ids.length) first.set(e.id, ids[0]!);
      if (ids.length > 1) lines.push(`*\tEquiv ${ids.join(' ')}`);
    }
    live(r).forEach((x, i) => {
      const h = first.get(x.head);
      const tl = first.get(x.tail);
      if (h && tl) lines.push(`R${i + 1}\t${relTypes.get(x.label)!} Arg1:${h} Arg2:${tl}`);
    });
    files.push({ name: `${stem}.txt`, data: r.text });
    files.push({ name: `${stem}.ann`, data: lines.map((l) => l + '\n').join('') });
  }
  const entityLines = [...new Set(entityTypes.values())];
  const relLines = [...new Set(relTypes.values())].map((t) => `${t}\tArg1:<ENTITY>, Arg2:<ENTITY>`);
  files.push({
    name: 'annotation.conf',
    data: `[entities]\n${entityLines.join('\n')}\n\n[relations]\n${relLines.join('\n')}\n<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>\n\n[events]\n\n[attributes]\n`,
  });
  files.push({
    name: 'visual.conf',
    data: `[labels]\n${[...entityTypes, ...relTypes].map(([name, type]) => `${type} | ${name}`).join('\n')}\n`,
  });
  return files;
}

/** visual.conf's [labels]: brat type → the name it was written for. */
export function parseVisualLabels(conf: string): Map<string, string> {
  const out = new Map<string, string>();
  let inLabels = false;
  for (const line of conf.split(/\r?\n/)) {
    const s = line.trim();
    if (/^\[.*\]$/.test(s)) {
      inLabels = s === '[labels]';
      continue;
    }
    if (!inLabels || !s || s.startsWith('#')) continue;
    const parts = s.split('|').map((p) => p.trim());
    if (parts.length >= 2 && parts[0]) out.set(parts[0], parts[1]!);
  }
  return out;
}

interface AnnMention {
  start: number;
  end: number;
  type: string | null;
  line: number;
}

interface ParsedAnn {
  mentions: Map<string, AnnMention>;
  equivs: Array<{ ids: string[]; line: number }>;
  rels: Array<{ type: string; a: string; b: string; line: number }>;
  problems: Array<[number, string]>;
  warnings: Array<[number, string]>;
}

/** The T, R and Equiv lines of an .ann file (events, attributes, normalizations and notes have no place in a record). */
function parseAnn(text: string, ann: string, name: (type: string) => string | null): ParsedAnn {
  const toU16 = codePointOffsets(text);
  const p: ParsedAnn = { mentions: new Map(), equivs: [], rels: [], problems: [], warnings: [] };
  ann.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const l = raw.replace(/\r$/, '');
    if (!l.trim()) return;
    const [id = '', body = ''] = l.split('\t');
    if (id.startsWith('T')) {
      const m = /^(\S+) (\d+) (\d+)(?:;\d+ \d+)*$/.exec(body);
      if (!m) {
        p.problems.push([line, `${id}: expected "TYPE START END", got ${JSON.stringify(body)}`]);
        return;
      }
      const start = toU16(Number(m[2]));
      const end = toU16(Number(m[3]));
      if (start === undefined || end === undefined || end < start) {
        p.problems.push([
          line,
          `${id}: offsets ${m[2]}-${m[3]} are outside the text (${[...text].length} characters)`,
        ]);
        return;
      }
      if (body.includes(';'))
        p.warnings.push([line, `${id}: a discontinuous span; only its first fragment is kept`]);
      p.mentions.set(id, { start, end, type: name(m[1]!), line });
    } else if (id.startsWith('R')) {
      const m = /^(\S+) Arg1:(\S+) Arg2:(\S+)$/.exec(body.trim());
      if (!m)
        p.problems.push([
          line,
          `${id}: expected "TYPE Arg1:T… Arg2:T…", got ${JSON.stringify(body)}`,
        ]);
      else p.rels.push({ type: m[1]!, a: m[2]!, b: m[3]!, line });
    } else if (id === '*') {
      const m = /^Equiv((?: \S+)+)$/.exec(body.trim());
      if (m) p.equivs.push({ ids: m[1]!.trim().split(' '), line });
    }
  });
  return p;
}

/** Mentions joined by Equiv lines grouped into entities (union of overlapping groups). */
function entitiesOf(
  text: string,
  p: ParsedAnn,
): { entities: Entity[]; entityOf: Map<string, string> } {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const q = parent.get(x) ?? x;
    if (q === x) return x;
    const r = find(q);
    parent.set(x, r);
    return r;
  };
  for (const q of p.equivs) {
    for (const x of q.ids)
      if (!p.mentions.has(x))
        p.problems.push([q.line, `Equiv names ${x}, which is not a text-bound annotation`]);
    const known = q.ids.filter((x) => p.mentions.has(x));
    for (const x of known.slice(1)) parent.set(find(x), find(known[0]!));
  }
  const groups = new Map<string, string[]>();
  for (const id of p.mentions.keys()) {
    const r = find(id);
    (groups.get(r) ?? groups.set(r, []).get(r)!).push(id);
  }
  const entityOf = new Map<string, string>();
  const entities: Entity[] = [];
  for (const ids of groups.values()) {
    const ms = ids.map((id) => p.mentions.get(id)!);
    const type = ms[0]!.type;
    const nm = text.slice(ms[0]!.start, ms[0]!.end);
    entities.push({
      id: ids[0]!,
      name: nm,
      type,
      mentions: ms.map((m) => {
        const shown = text.slice(m.start, m.end);
        return {
          start: m.start,
          end: m.end,
          ...(shown !== nm ? { name: shown } : {}),
          ...(m.type !== type ? { type: m.type } : {}),
        };
      }),
    });
    for (const id of ids) entityOf.set(id, ids[0]!);
  }
  return { entities, entityOf };
}

/**
 * One brat document as a record (id from the file stem; entity ids are the first T id of each
 * entity). Problems are reported with the .ann file (the collector's) and line; a document with
 * any is skipped.
 */
export function importBratDocument(
  stem: string,
  text: string,
  ann: string,
  c: Collector,
  labels: Map<string, string> = new Map(),
): boolean {
  const name = (type: string) => {
    const n = labels.get(type) ?? type;
    return n === NO_TYPE ? null : n;
  };
  const p = parseAnn(text, ann, name);
  const { entities, entityOf } = entitiesOf(text, p);
  for (const [line, m] of p.warnings) c.warn(line, m);
  if (p.problems.length) {
    for (const [line, m] of p.problems) c.error(line, m);
    c.skipped++;
    return false;
  }
  const relations: Relation[] = [];
  for (const r of p.rels) {
    const h = entityOf.get(r.a);
    const t = entityOf.get(r.b);
    if (!h || !t) {
      c.warn(
        r.line,
        `relation ${r.type}: ${r.a} or ${r.b} is not a text-bound annotation; skipped`,
      );
      continue;
    }
    relations.push({ head: h, tail: t, label: labels.get(r.type) ?? r.type, source: 'gold' });
  }
  let id: string;
  try {
    id = decodeURIComponent(stem);
  } catch {
    id = stem;
  }
  return c.add({ id, text, entities, relations }, 1);
}
