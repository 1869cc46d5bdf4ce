/**
 * Where things are inside one JSONL line: the columns of the top-level `"text"` string's
 * characters, so that entity mentions (offsets into the decoded text) can be highlighted in the
 * raw line — escapes (`\n`, `\"`, `\uXXXX`) make the two differ.
 */

/** Finds the raw span of the top-level string value of `key` (the quotes excluded), or null. */
export function topLevelStringSpan(
  line: string,
  key: string,
): { start: number; end: number } | null {
  let depth = 0;
  let i = 0;
  const n = line.length;
  let expectKey = false;
  let lastKey: string | null = null;
  while (i < n) {
    const c = line[i]!;
    if (c === '"') {
      const start = i + 1;
      i++;
      while (i < n && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      if (i >= n) return null;
      const raw = line.slice(start, i);
      i++;
      if (depth === 1 && expectKey) {
        lastKey = raw;
        expectKey = false;
        continue;
      }
      if (depth === 1 && lastKey === key) return { start, end: start + raw.length };
      continue;
    }
    if (c === '{' || c === '[') {
      depth++;
      if (c === '{' && depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) {
      expectKey = true;
      lastKey = null;
    } else if (c === ':' && depth === 1) expectKey = false;
    i++;
  }
  return null;
}

/**
 * Maps offsets of the decoded string (UTF-16 code units, the offsets mentions use) to columns
 * of the raw line. `columns[k]` is the column where decoded unit k starts; `columns[len]` is
 * the closing quote's column.
 */
export function decodedColumns(line: string, span: { start: number; end: number }): number[] {
  const cols: number[] = [];
  let i = span.start;
  while (i < span.end) {
    if (line[i] !== '\\') {
      cols.push(i);
      i++;
      continue;
    }
    const e = line[i + 1];
    if (e === 'u') {
      cols.push(i); // one \uXXXX escape is one UTF-16 code unit (a surrogate pair is two escapes)
      i += 6;
    } else {
      cols.push(i);
      i += 2;
    }
  }
  cols.push(span.end);
  return cols;
}

/** Column ranges of decoded [start, end) ranges of the `"text"` value, or null when there is no such string. */
export function textRangesToColumns(
  line: string,
  ranges: Array<{ start: number; end: number }>,
): Array<{ start: number; end: number } | null> | null {
  const span = topLevelStringSpan(line, 'text');
  if (!span) return null;
  const cols = decodedColumns(line, span);
  const len = cols.length - 1;
  return ranges.map((r) =>
    r.start < 0 || r.end > len || r.end < r.start
      ? null
      : { start: cols[r.start]!, end: cols[r.end]! },
  );
}
