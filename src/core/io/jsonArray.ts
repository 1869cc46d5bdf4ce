/**
 * Reads a top-level JSON array element by element, so that one malformed element (or a file
 * truncated in the middle) costs that element only: each element is parsed on its own and its
 * problems carry the line where it starts.
 */
import { MAX_JSON_DEPTH, maxJsonDepth } from './jsonDepth';
import { Diagnostic, jsonErrorPosition, lineColumnAt } from '../diagnostics';

export interface ArrayElement {
  value: unknown;
  /** 1-based line where the element starts. */
  line: number;
  index: number;
}

export interface ArrayReadResult {
  elements: ArrayElement[];
  diagnostics: Diagnostic[];
  skipped: number;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** One JSON object instead of an array (a single DocRED document, one Label Studio task…): read as a one-element array, and said so. */
function readOneObject(text: string, i: number, file: string): ArrayReadResult {
  const where = lineColumnAt(text, i);
  if (maxJsonDepth(text) > MAX_JSON_DEPTH + 1)
    return {
      elements: [],
      diagnostics: [
        {
          file,
          line: where.line,
          severity: 'error',
          message: `the JSON nests deeper than ${MAX_JSON_DEPTH} levels`,
        },
      ],
      skipped: 1,
    };
  try {
    const elements = [{ value: JSON.parse(text.slice(i)) as unknown, line: where.line, index: 0 }];
    return {
      elements,
      diagnostics: [
        {
          file,
          line: where.line,
          severity: 'warning',
          message: 'the file holds one JSON object, not an array: read as a single element',
        },
      ],
      skipped: 0,
    };
  } catch (err) {
    const { message, offset } = jsonErrorPosition(err, text.slice(i));
    const at = offset !== undefined ? lineColumnAt(text, i + offset) : where;
    return {
      elements: [],
      diagnostics: [
        {
          file,
          line: at.line,
          column: at.column,
          severity: 'error',
          message: `invalid JSON: ${message}`,
        },
      ],
      skipped: 1,
    };
  }
}

/**
 * The extent of one array element from `i`: brackets counted outside strings, up to the comma
 * or closing bracket at depth 0 (`end`, its offset; the text's length when it never comes).
 */
function scanElement(text: string, i: number): { end: number; maxDepth: number } {
  let depth = 0;
  let maxDepth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) maxDepth = Math.max(maxDepth, ++depth);
    else if (c === 93 || c === 125) {
      if (depth === 0) break; // the closing ']' of the top-level array
      depth--;
    } else if (c === 44 && depth === 0) break;
  }
  return { end: i, maxDepth };
}

/**
 * Splits `text` (a JSON document whose top level is an array) into element texts by scanning
 * brackets outside strings, then parses each one. Falls back to a single JSON.parse when the
 * top level is not an array (the value then becomes one element, or an error).
 */
/** One element's text parsed, or the diagnostic that says why it is skipped (too deep, invalid JSON). */
function parseElement(
  chunk: string,
  at: { line: number; index: number; maxDepth: number; file: string },
): ArrayElement | Diagnostic {
  const { line, index, file } = at;
  if (at.maxDepth > MAX_JSON_DEPTH)
    return {
      file,
      line,
      severity: 'error',
      message: `element ${index}: nests JSON deeper than ${MAX_JSON_DEPTH} levels; skipped`,
    };
  try {
    return { value: JSON.parse(chunk) as unknown, line, index };
  } catch (err) {
    const { message, offset } = jsonErrorPosition(err, chunk);
    const pos =
      offset !== undefined ? lineColumnAt(chunk, offset, line) : { line, column: undefined };
    return {
      file,
      line: pos.line,
      column: pos.column,
      severity: 'error',
      message: `element ${index}: invalid JSON: ${message}`,
    };
  }
}

export function readJsonArray(text: string, file: string): ArrayReadResult {
  const diagnostics: Diagnostic[] = [];
  const elements: ArrayElement[] = [];
  let skipped = 0;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < text.length && isWs(text.charCodeAt(i))) i++;
  if (text[i] === '{') return readOneObject(text, i, file);
  if (text[i] !== '[') {
    const where = lineColumnAt(text, i);
    const found = text[i] === undefined ? 'end of file' : JSON.stringify(text[i]);
    const message = `expected a JSON array ('[') but found ${found}`;
    return { elements, diagnostics: [{ file, ...where, severity: 'error', message }], skipped: 1 };
  }
  i++;
  // Line counting is incremental: `line` is the line number at offset `lineAt`.
  let line = 1;
  let lineAt = 0;
  const lineOf = (offset: number): number => {
    for (; lineAt < offset; lineAt++) if (text.charCodeAt(lineAt) === 10) line++;
    return line;
  };
  let index = 0;
  for (;;) {
    while (i < text.length && isWs(text.charCodeAt(i))) i++;
    if (i >= text.length) {
      diagnostics.push({
        file,
        line: lineOf(i),
        severity: 'error',
        message: 'unexpected end of file: the JSON array is not closed (truncated file?)',
      });
      break;
    }
    if (text[i] === ']') {
      // The end of the array: anything after it (but whitespace) means a bracket went missing
      // earlier, and the elements there would be lost without a word.
      let j = i + 1;
      while (j < text.length && isWs(text.charCodeAt(j))) j++;
      if (j < text.length) {
        diagnostics.push({
          file,
          line: lineOf(j),
          severity: 'error',
          message:
            'unexpected content after the end of the JSON array (a bracket missing earlier?); the rest of the file is not read',
        });
        skipped++;
      }
      break;
    }
    const start = i;
    const scan = scanElement(text, i);
    const maxDepth = scan.maxDepth;
    i = scan.end;
    const startLine = lineOf(start);
    const chunk = text.slice(start, i);
    if (i >= text.length) {
      diagnostics.push({
        file,
        line: startLine,
        severity: 'error',
        message: `element ${index}: unexpected end of file inside this element (truncated file?)`,
      });
      skipped++;
      break;
    }
    const parsed = parseElement(chunk, { line: startLine, index, maxDepth, file });
    if ('value' in parsed) elements.push(parsed);
    else {
      diagnostics.push(parsed);
      skipped++;
    }
    index++;
    if (text[i] === ',') i++;
    // A stray closing brace (its opening one went missing): the element before it was reported; go on after it.
    else if (text[i] === '}') i++;
  }
  return { elements, diagnostics, skipped };
}
