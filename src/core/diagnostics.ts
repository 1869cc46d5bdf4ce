/**
 * Diagnostics: every problem found in an input names the file and the (1-based) line, so that
 * a person can jump to it. Readers collect diagnostics and keep going with the valid records.
 */
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  /** 1-based line number; 0 when the problem concerns the whole file. */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  severity: Severity;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}${d.column ? `:${d.column}` : ''}` : d.file;
  return `${where}: ${d.severity}: ${d.message}`;
}

/** An error that stops a whole operation (as opposed to a skipped record). */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(file ? `${file}${line ? `:${line}` : ''}: ${message}` : message);
    this.name = 'InputError';
  }
}

/** Result of reading a file: the valid items, every problem, and a summary. */
export interface ReadResult<T> {
  items: T[];
  diagnostics: Diagnostic[];
  /** Number of units (lines, blocks, array elements) that were skipped because of errors. */
  skipped: number;
}

export function summarize(
  file: string,
  r: { items: unknown[]; skipped: number; diagnostics: Diagnostic[] },
): string {
  const warnings = r.diagnostics.filter((d) => d.severity === 'warning').length;
  return `${file}: ${r.items.length} read, ${r.skipped} skipped${warnings ? `, ${warnings} warning(s)` : ''}`;
}

/** Line and column (1-based) of a UTF-16 offset in a text. */
export function lineColumnAt(
  text: string,
  offset: number,
  firstLine = 1,
): { line: number; column: number } {
  let line = firstLine;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Turns a JSON.parse error into a message and a position (character offset) when V8 gives one. */
export function jsonErrorPosition(
  err: unknown,
  text: string,
): { message: string; offset?: number } {
  const message = err instanceof Error ? err.message : String(err);
  const m = /at position (\d+)/.exec(message);
  if (m) return { message, offset: Number(m[1]) };
  if (/Unexpected end of JSON input/.test(message))
    return { message: 'unexpected end of JSON (truncated?)', offset: text.length };
  return { message };
}
