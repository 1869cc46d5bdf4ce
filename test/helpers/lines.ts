import { splitLines } from '../../src/core/io/lines';

/** Lines of a text or raw bytes, as the file readers produce them. */
export function linesOf(data: string | Uint8Array) {
  return splitLines([typeof data === 'string' ? new TextEncoder().encode(data) : data]);
}
