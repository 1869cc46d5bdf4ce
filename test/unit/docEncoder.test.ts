/**
 * The document encoder's plain-TypeScript parts: BERT's word split (the trainer's tokenizer
 * splits the same way), windows over long documents, and grouping mentions into entities.
 * The shipped model itself runs in test/unit/shippedEncoder.test.ts.
 */
import { strict as assert } from 'node:assert';
import { encoderWindows, groupMentions, splitWords } from '../../src/core/pipelines/docEncoder';
import { splitSentences } from '../../src/core/pipelines/entities';

describe('document encoder: words, windows, entities', () => {
  it('splits words as BERT does: whitespace, each punctuation mark, each CJK ideograph; offsets in UTF-16', () => {
    const text = 'U.S.-based  Café, 北京 £5 “x” 𝒜b\tend';
    const words = splitWords(text).map((w) => text.slice(w.start, w.end));
    assert.deepEqual(words, [
      'U',
      '.',
      'S',
      '.',
      '-',
      'based',
      'Café',
      ',',
      '北',
      '京',
      '£5',
      '“',
      'x',
      '”',
      '𝒜b',
      'end',
    ]);
    const astral = splitWords(text).find((w) => text.slice(w.start, w.end) === '𝒜b')!;
    assert.equal(astral.end - astral.start, 3, 'an astral character counts two UTF-16 units');
  });

  it('covers every token with windows that overlap by the stride, one window when it fits', () => {
    assert.deepEqual(encoderWindows(510, 512, 256), [[0, 510]]);
    const w = encoderWindows(1200, 512, 256);
    assert.deepEqual(w, [
      [0, 510],
      [256, 766],
      [512, 1022],
      [690, 1200],
    ]);
    for (let i = 0; i < 1200; i++) assert.ok(w.some(([s, e]) => i >= s && i < e));
  });

  it('groups mentions with the same normalized name into one entity with the most frequent type', () => {
    const text = 'Paris is in France. PARIS, the capital; Paris again.';
    const at = (s: string, from = 0) => text.indexOf(s, from);
    const ms = [
      { start: at('Paris'), end: at('Paris') + 5, type: 'LOC' },
      { start: at('France'), end: at('France') + 6, type: 'LOC' },
      { start: at('PARIS'), end: at('PARIS') + 5, type: 'ORG' },
      { start: at('Paris again'), end: at('Paris again') + 5, type: 'LOC' },
    ];
    const ents = groupMentions(text, ms, splitSentences(text));
    assert.equal(ents.length, 2);
    const paris = ents[0]!;
    assert.equal(paris.name, 'Paris');
    assert.equal(paris.type, 'LOC');
    assert.equal(paris.mentions.length, 3);
    assert.deepEqual(paris.mentions[1], {
      start: at('PARIS'),
      end: at('PARIS') + 5,
      name: 'PARIS',
      type: 'ORG',
      sent: 1,
    });
    assert.equal(ents[1]!.name, 'France');
  });
});
