/** Canonical JSONL: one record per line (see schema.ts). */
import { Diagnostic, jsonErrorPosition } from '../diagnostics';
import { Line } from '../io/lines';
import { JsonDepthError, parseBoundedJson } from '../io/jsonDepth';
import { RelRecord, validateRecord } from '../schema';

export type CanonicalEvent =
  | { kind: 'record'; record: RelRecord; line: number }
  | { kind: 'diagnostic'; diagnostic: Diagnostic };

/**
 * Reads canonical records from lines, one event per record or problem, so that large files
 * stream. Blank lines are ignored; every malformed line is reported with its number and skipped.
 */
export async function* readCanonical(
  lines: AsyncIterable<Line> | Iterable<Line>,
  file: string,
): AsyncGenerator<CanonicalEvent> {
  const seen = new Set<string>();
  for await (const l of lines) {
    const err = (message: string, column?: number): CanonicalEvent => ({
      kind: 'diagnostic',
      diagnostic: { file, line: l.no, column, severity: 'error', message },
    });
    if (l.text === null) {
      yield err('invalid UTF-8 byte sequence; line skipped');
      continue;
    }
    if (l.text.trim() === '') continue;
    let value: unknown;
    try {
      value = parseBoundedJson(l.text);
    } catch (e) {
      if (e instanceof JsonDepthError) {
        yield err(`the line ${e.message}; line skipped`);
        continue;
      }
      const { message, offset } = jsonErrorPosition(e, l.text);
      yield err(`invalid JSON: ${message}`, offset !== undefined ? offset + 1 : undefined);
      continue;
    }
    const v = validateRecord(value);
    if (!v.ok) {
      const id =
        typeof value === 'object' && value && 'id' in value
          ? ` ${JSON.stringify((value as { id: unknown }).id)}`
          : '';
      yield err(`invalid record${id}: ${v.problems.join('; ')}`);
      continue;
    }
    if (seen.has(v.value.id)) {
      yield err(`duplicate record id ${JSON.stringify(v.value.id)} (first occurrence kept)`);
      continue;
    }
    seen.add(v.value.id);
    yield { kind: 'record', record: v.value, line: l.no };
  }
}

/** One canonical JSONL line (no newline). Key order is the schema's. */
export function serializeRecord(r: RelRecord): string {
  return JSON.stringify(r);
}
