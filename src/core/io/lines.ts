/**
 * Streaming line splitting over raw bytes. Each line is decoded on its own with a strict UTF-8
 * decoder, so an invalid byte sequence costs one line (reported with its number), never the
 * file, and memory stays bounded by the longest line (a 200 MB file streams).
 */
export interface Line {
  /** 1-based line number. */
  no: number;
  /** Decoded text without the line terminator (`\n` or `\r\n`); null when not valid UTF-8. */
  text: string | null;
  /** Raw bytes of the line without the terminator (kept so untouched lines can be written back byte-identically). */
  bytes: Uint8Array;
  /** The terminator that followed the line: '\n', '\r\n' or '' (last line without one). */
  eol: '' | '\n' | '\r\n';
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeLine(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

/** `raw` is the line without its '\n'. */
function makeLine(no: number, raw: Uint8Array, hasNewline: boolean): Line {
  let end = raw.length;
  let eol: Line['eol'] = hasNewline ? '\n' : '';
  if (hasNewline && end > 0 && raw[end - 1] === 13) {
    end--;
    eol = '\r\n';
  }
  const bytes = raw.subarray(0, end);
  let text = decodeLine(bytes);
  if (no === 1 && text !== null && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { no, text, bytes, eol };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Splits a stream of byte chunks into lines. A UTF-8 BOM at the start is dropped from the text. */
export async function* splitLines(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Line> {
  let rest: Uint8Array = new Uint8Array(0);
  let no = 0;
  for await (const chunk of chunks) {
    const buf = concat(rest, chunk);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      yield makeLine(++no, buf.subarray(start, nl), true);
      start = nl + 1;
    }
    rest = buf.slice(start);
  }
  if (rest.length > 0) yield makeLine(no + 1, rest, false);
}

const encoder = new TextEncoder();
/** Lines of an already-decoded text (an editor buffer). */
export function* linesOfText(text: string): Generator<Line> {
  let start = 0;
  let no = 0;
  while (start <= text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    if (nl < 0 && start === text.length) break;
    const crlf = nl > 0 && text.charCodeAt(nl - 1) === 13;
    const body = text.slice(start, crlf ? end - 1 : end);
    yield {
      no: ++no,
      text: body,
      bytes: encoder.encode(body),
      eol: nl < 0 ? '' : crlf ? '\r\n' : '\n',
    };
    if (nl < 0) break;
    start = nl + 1;
  }
}
