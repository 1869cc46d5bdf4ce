/**
 * The document encoder's plain-TypeScript parts: BERT's word split (the trainer's tokenizer
 * splits the same way), windows over long documents, and grouping mentions into entities.
 * The shipped model itself runs in test/unit/shippedEncoder.test.ts.
 */
import { strict as assert } from 'node:assert';
import {
  decodeBio,
  encoderWindows,
  groupMentions,
  keptMention,
  splitWords,
  trimMention,
} from '../../src/core/pipelines/docEncoder';
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

  const TAGS = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG'];
  /** Logits whose softmax is the given probabilities (in TAGS order). */
  const row = (p: Record<string, number>) => TAGS.map((t) => Math.log(p[t] ?? 1e-6));

  it('decodes BIO as one name when its words disagree on the type, where each best tag alone splits it', () => {
    // "Marilyn Manson": B-ORG 0.84 / B-PER 0.14, then I-PER 0.65 / I-ORG 0.34 (the shipped model's
    // figures on a Re-DocRED test sentence). Best tags alone: B-ORG, I-PER — an I- of another type.
    const rows = [row({ 'B-ORG': 0.84, 'B-PER': 0.14 }), row({ 'I-PER': 0.65, 'I-ORG': 0.34 })];
    assert.deepEqual(
      decodeBio(rows, TAGS).map((t) => TAGS[t]),
      ['B-ORG', 'I-ORG'], // 0.84 × 0.34 = 0.29 against B-PER I-PER 0.14 × 0.65 = 0.09
    );
    // An I- cannot open the text or follow O; the sequence's best valid reading is taken.
    const opened = [row({ 'I-PER': 0.6, 'B-PER': 0.3, O: 0.1 }), row({ O: 0.9, 'I-PER': 0.1 })];
    assert.deepEqual(
      decodeBio(opened, TAGS).map((t) => TAGS[t]),
      ['B-PER', 'O'],
    );
    const afterO = [row({ O: 0.9 }), row({ 'I-ORG': 0.5, O: 0.45, 'B-ORG': 0.05 })];
    assert.deepEqual(
      decodeBio(afterO, TAGS).map((t) => TAGS[t]),
      ['O', 'O'],
    );
    assert.deepEqual(decodeBio([], TAGS), []);
  });

  it('trims the words a name never starts or ends with, keeping currency, abbreviations and brackets', () => {
    const trim = (text: string, first: number, last: number) => {
      const words = splitWords(text);
      const t = trimMention(text, words, first, last);
      return t && text.slice(words[t[0]]!.start, words[t[1]]!.end);
    };
    assert.equal(trim('of the 1919 - 1920 war', 2, 3), '1919');
    assert.equal(trim('the Brussels Midi / Zuid line', 1, 3), 'Brussels Midi');
    assert.equal(trim(', Gulf of Bothnia ,', 0, 4), 'Gulf of Bothnia');
    assert.equal(trim('cost US$ 90 million', 2, 4), '$ 90 million');
    assert.equal(trim('at 11:59 p.m. sharp', 1, 7), '11:59 p.m.');
    assert.equal(trim('Apple Inc. ( AAPL )', 0, 5), 'Apple Inc. ( AAPL )');
    assert.equal(trim('a - , b', 1, 2), null);
  });

  it('drops a lower-case name unless it is a number or a time, and keeps text without case', () => {
    assert.equal(keptMention('defence', 'ORG'), false);
    assert.equal(keptMention('domestic affairs', 'ORG'), false);
    assert.equal(keptMention('homelands', 'MISC'), false);
    assert.equal(keptMention('the United States', 'LOC'), true);
    assert.equal(keptMention('iPhone', 'MISC'), true);
    assert.equal(keptMention('M-52', 'LOC'), true);
    assert.equal(keptMention('three', 'NUM'), true);
    assert.equal(keptMention('the late 1940s', 'TIME'), true);
    assert.equal(keptMention('early spring', 'TIME'), true);
    assert.equal(keptMention('北京', 'LOC'), true);
  });
});
