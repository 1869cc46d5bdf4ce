/**
 * GBNF literals (issue 10, defect 8) property-tested against llama.cpp's own grammar parser (the
 * binary node-llama-cpp ships): for random labels of any Unicode — control characters, quotes,
 * backslashes, brackets, CJK, emoji — `root ::= <literal>` parses, and llama.cpp's grammar
 * matcher accepts exactly the label's text (not a prefix of it, not more).
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import type { Llama, LlamaGrammar } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { GbnfLiteralError, gbnfLiteral } from '../../src/core/util/gbnf';
import { getLlamaInstance } from '../../src/engine/llama';

/** llama.cpp's text test of a grammar (node-llama-cpp keeps it internal). */
const accepts = (g: LlamaGrammar, text: string) =>
  (g as unknown as { _testText(t: string): boolean })._testText(text);

describe('GBNF literals against llama.cpp', function () {
  this.timeout(300_000);
  let llama: Llama;
  before(async () => (llama = await getLlamaInstance()));

  /** Any string of Unicode scalar values but NUL (C strings end there); lone surrogates are tested apart. */
  const label = fc
    .string({
      unit: fc.oneof(
        fc.constantFrom(
          '\f',
          '\b',
          '\u000b',
          '\u0001',
          '\u007f',
          '\u0085',
          '"',
          '\\',
          '[',
          ']',
          '-',
          '\n',
          '\r',
          '\t',
          '#',
          '|',
          ' ',
        ),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      minLength: 1,
      maxLength: 12,
    })
    .filter(
      (s) =>
        !s.includes('\u0000') &&
        !/[\ud800-\udfff]/u.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')),
    );

  it('every label parses and matches exactly its own text', async () => {
    await fc.assert(
      fc.asyncProperty(label, async (s) => {
        const g = await llama.createGrammar({ grammar: `root ::= ${gbnfLiteral(s)}` });
        assert.ok(accepts(g, s), `accepts ${JSON.stringify(s)}`);
        assert.ok(!accepts(g, s + 'x'), 'nothing after the label');
        if ([...s].length > 1)
          assert.ok(!accepts(g, [...s].slice(0, -1).join('')), 'not a prefix only');
      }),
      { numRuns: 300, seed: 8 },
    );
  });

  it('an alternation of labels (the label grammar) matches each of them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(label, { minLength: 2, maxLength: 6 }), async (labels) => {
        const g = await llama.createGrammar({
          grammar: `root ::= ${labels.map(gbnfLiteral).join(' | ')}`,
        });
        for (const l of labels) assert.ok(accepts(g, l), JSON.stringify(l));
      }),
      { numRuns: 60, seed: 9 },
    );
  });

  it('JSON.stringify escapes (the old literal) are refused by llama.cpp for a form feed; ours are not', async () => {
    await assert.rejects(
      llama.createGrammar({ grammar: `root ::= ${JSON.stringify('a\fb')}` }),
      /Failed to parse grammar/,
    );
    const g = await llama.createGrammar({ grammar: `root ::= ${gbnfLiteral('a\fb')}` });
    assert.ok(accepts(g, 'a\fb'));
  });

  it('a label that no grammar can hold is refused with its name', () => {
    assert.throws(
      () => gbnfLiteral('x\ud800y'),
      (e: Error) => e instanceof GbnfLiteralError && /the label "x\\ud800y"/.test(e.message),
    );
    assert.throws(
      () => gbnfLiteral('a\u0000'),
      (e: Error) => e instanceof GbnfLiteralError && /NUL/.test(e.message),
    );
  });
});
