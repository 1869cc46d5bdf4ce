/**
 * A GBNF string literal for llama.cpp's grammar parser (llama-grammar.cpp `parse_char`), which
 * knows only the escapes \x.. \u.... \U........ \t \r \n \\ \" \[ \] \- and reads anything else as
 * UTF-8. JSON's escapes are not all GBNF (\b and \f are refused by llama.cpp), so every code point
 * is written either as itself or as a hex escape. A lone surrogate has no UTF-8 form (the text a
 * model generates can never contain it), so it is an error that names the string.
 */
export function gbnfLiteral(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      throw new GbnfLiteralError(
        s,
        `a lone UTF-16 surrogate (U+${c.toString(16).toUpperCase()}) at position ${i}`,
      );
    }
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0) throw new GbnfLiteralError(s, 'a NUL character');
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += s[i]!;
  }
  return out + '"';
}

export class GbnfLiteralError extends Error {
  constructor(
    readonly text: string,
    why: string,
  ) {
    super(`the label ${JSON.stringify(text)} cannot be used in a grammar: it contains ${why}`);
    this.name = 'GbnfLiteralError';
  }
}
