/** A GBNF string literal (llama.cpp grammars accept JSON's string escapes). */
export const gbnfLiteral = (s: string): string => JSON.stringify(s);
