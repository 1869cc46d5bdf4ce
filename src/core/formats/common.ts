/** Shared helpers of the format readers and writers. */
import { Diagnostic } from '../diagnostics';
import { RelRecord, RelationSet, validateRecord } from '../schema';

/** What every importer returns: valid records, problems with file and line, and how many units were skipped. */
export interface ImportResult {
  records: RelRecord[];
  diagnostics: Diagnostic[];
  skipped: number;
  /** The relation set the source defines or implies, when it does. */
  relationSet?: RelationSet;
}

export class Collector {
  readonly records: RelRecord[] = [];
  readonly diagnostics: Diagnostic[] = [];
  skipped = 0;
  constructor(readonly file: string) {}

  error(line: number, message: string, column?: number): void {
    this.diagnostics.push({ file: this.file, line, column, severity: 'error', message });
  }
  warn(line: number, message: string): void {
    this.diagnostics.push({ file: this.file, line, severity: 'warning', message });
  }
  /** Reports problems and counts the unit as skipped. */
  skip(line: number, message: string): void {
    this.error(line, message);
    this.skipped++;
  }
  /** Record ids taken so far: the line that took each and the record's place in `records`. */
  private readonly ids = new Map<string, { line: number; index: number }>();

  /**
   * Validates a record built by an importer; a failure is reported at `line` and the record
   * skipped. Ids stay unique: a record that repeats an earlier one exactly is skipped with a
   * warning; another record under a taken id is kept under `ID~2` (`~3`, …), with a warning that
   * names both lines — never two records with one id in the output.
   */
  add(record: RelRecord, line: number): boolean {
    const v = validateRecord(record);
    if (!v.ok) {
      this.skip(line, `record ${JSON.stringify(record.id)}: ${v.problems.join('; ')}`);
      return false;
    }
    let rec = v.value;
    const first = this.ids.get(rec.id);
    if (first) {
      // Compared as JSON only when ids collide: no serialization on the common path.
      if (JSON.stringify(this.records[first.index]) === JSON.stringify(rec)) {
        this.warn(
          line,
          `record ${JSON.stringify(rec.id)} repeats line ${first.line} exactly; skipped`,
        );
        this.skipped++;
        return false;
      }
      const id = freshRecordId(rec.id, this.ids);
      this.warn(
        line,
        `duplicate record id ${JSON.stringify(rec.id)} (first on line ${first.line}); this record is imported as ${JSON.stringify(id)}`,
      );
      rec = { ...rec, id };
    }
    this.ids.set(rec.id, { line, index: this.records.length });
    this.records.push(rec);
    return true;
  }
  result(relationSet?: RelationSet): ImportResult {
    return {
      records: this.records,
      diagnostics: this.diagnostics,
      skipped: this.skipped,
      relationSet,
    };
  }
}

/**
 * Maps code-point offsets (Python's str indices, used by doccano and current Label Studio) to
 * UTF-16 code-unit offsets (JavaScript and VS Code). Returns undefined for an offset past the end.
 */
export function codePointOffsets(text: string): (cp: number) => number | undefined {
  let astral = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      astral = true;
      break;
    }
  }
  if (!astral) return (cp) => (cp >= 0 && cp <= text.length ? cp : undefined);
  const map: number[] = [];
  let u = 0;
  for (const ch of text) {
    map.push(u);
    u += ch.length;
  }
  map.push(u);
  return (cp) => map[cp];
}

/** Inverse of codePointOffsets: UTF-16 offset to code-point offset. */
export function utf16ToCodePoint(text: string, u: number): number {
  let cp = 0;
  for (let i = 0; i < u && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!(
      c >= 0xdc00 &&
      c <= 0xdfff &&
      i > 0 &&
      text.charCodeAt(i - 1) >= 0xd800 &&
      text.charCodeAt(i - 1) <= 0xdbff
    ))
      cp++;
  }
  return cp;
}

/** The file name's split (train/dev/valid/test) when it says one. */
export function splitFromFileName(file: string): string | undefined {
  const base = file.replace(/^.*[\\/]/, '').toLowerCase();
  const m = /(train|dev|valid|test)/.exec(base);
  return m?.[1];
}

/** Finds `needle` in `text` at or after `from`, avoiding the span [avoidStart, avoidEnd) when another occurrence exists. */
export function findOccurrence(
  text: string,
  needle: string,
  avoid?: { start: number; end: number },
): number {
  if (needle.length === 0) return -1;
  let first = -1;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
    if (first < 0) first = i;
    if (!avoid || i + needle.length <= avoid.start || i >= avoid.end) return i;
  }
  return first;
}

/** `id` if no record has it yet, else `id~2`, `id~3`, … (the first free one). */
export function freshRecordId(id: string, taken: { has(id: string): boolean }): string {
  if (!taken.has(id)) return id;
  let k = 2;
  while (taken.has(`${id}~${k}`)) k++;
  return `${id}~${k}`;
}
