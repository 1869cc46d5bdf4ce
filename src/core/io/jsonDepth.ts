/**
 * The nesting depth of a JSON text, found by a scan (no recursion, no parse): `[]`/`{}` count,
 * brackets inside strings do not. Deeply nested values parse but break recursive serializers and
 * validators ("Maximum call stack size exceeded"), so readers refuse them per line first.
 */
export function maxJsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) max = depth;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return max;
}

/** The deepest nesting a record may have (the schema needs about 5; meta gets the rest). */
export const MAX_JSON_DEPTH = 64;

export class JsonDepthError extends Error {
  constructor() {
    super(`nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
    this.name = 'JsonDepthError';
  }
}

/** JSON.parse for one line or record of an input: refuses nesting deeper than MAX_JSON_DEPTH first (JsonDepthError). */
export function parseBoundedJson(text: string): unknown {
  if (maxJsonDepth(text) > MAX_JSON_DEPTH) throw new JsonDepthError();
  return JSON.parse(text);
}
