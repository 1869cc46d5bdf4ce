/** Triples laid back onto the plain text they were extracted from (core/editor/textOverlay.ts). */
import { strict as assert } from 'node:assert';
import {
  groupTriples,
  nearestOccurrence,
  sentenceEnd,
  sourceOf,
  textOverlay,
} from '../../src/core/editor/textOverlay';
import { RelRecord } from '../../src/core/schema';

const PARA = 'Marie Curie was born in Warsaw. She worked in Paris with Pierre Curie.\nThe end.';

/** A record of `text` (which starts at `offset` in the file) with entities at their first match. */
function rec(
  id: string,
  text: string,
  offset: number,
  names: string[],
  rels: RelRecord['relations'],
) {
  const record: RelRecord = {
    id,
    text,
    entities: names.map((n, i) => {
      const start = text.indexOf(n);
      assert.ok(start >= 0, n);
      return { id: `e${i}`, name: n, mentions: [{ start, end: start + n.length }] };
    }),
    relations: rels,
    meta: { source: { file: '/w/a.txt', offset, sha256: 'x' } },
  };
  return record;
}

const born = (score = 0.82): RelRecord['relations'][number] => ({
  head: 'e0',
  tail: 'e1',
  label: 'place_of_birth',
  source: 'model',
  score,
});

describe('triples inline on plain text (core)', () => {
  it('places mentions at file offsets and each triple after the sentence holding both entities', () => {
    const first = PARA.slice(0, 31); // "Marie Curie was born in Warsaw."
    const o = textOverlay(PARA, [
      { record: rec('a', first, 0, ['Marie Curie', 'Warsaw'], [born()]), line: 0 },
      {
        record: rec(
          'b',
          PARA.slice(32, 70),
          32,
          ['Paris', 'Pierre Curie'],
          [{ head: 'e1', tail: 'e0', label: 'lives_in', source: 'model', score: 0.5 }],
        ),
        line: 1,
      },
    ]);
    assert.equal(o.stale, 0);
    assert.deepEqual(
      o.mentions.map((m) => PARA.slice(m.start, m.end)),
      ['Marie Curie', 'Warsaw', 'Paris', 'Pierre Curie'],
    );
    assert.equal(o.triples.length, 2);
    assert.equal(o.triples[0]!.at, 31, 'after "Warsaw."');
    assert.equal(o.triples[0]!.text, 'Marie Curie —place_of_birth→ Warsaw 0.82');
    assert.equal(o.triples[0]!.line, 0);
    assert.deepEqual(o.triples[0]!.evidence, []);
    // A document-level record's evidence sentences come with the triple (for the hover).
    const doc = rec(
      'd',
      PARA,
      0,
      ['Marie Curie', 'Paris'],
      [{ ...born(), tail: 'e1', evidence: [1] }],
    );
    doc.sentences = [
      { start: 0, end: 31 },
      { start: 32, end: 70 },
    ];
    assert.deepEqual(textOverlay(PARA, [{ record: doc, line: 0 }]).triples[0]!.evidence, [
      '[1] She worked in Paris with Pierre Curie.',
    ]);
    assert.equal(PARA.slice(o.triples[1]!.at - 6, o.triples[1]!.at), 'Curie.');
  });

  it('the same span extracted again: the newest record is shown, the older one counted as superseded; other spans stay', () => {
    const first = PARA.slice(0, 31);
    const old = rec('a.txt', first, 0, ['Marie Curie', 'Warsaw'], [born(0.4)]);
    const other = rec('a.txt:2', PARA.slice(32, 70), 32, ['Paris', 'Pierre Curie'], []);
    const again = rec('a.txt~2', first, 0, ['Marie Curie', 'Warsaw'], [born(0.9)]);
    const o = textOverlay(PARA, [
      { record: old, line: 0 },
      { record: other, line: 1 },
      { record: again, line: 2 },
    ]);
    assert.equal(o.superseded, 1);
    assert.deepEqual(
      o.triples.map((t) => [t.line, t.text]),
      [[2, 'Marie Curie —place_of_birth→ Warsaw 0.90']],
    );
    assert.deepEqual(
      o.mentions.map((m) => m.record),
      ['a.txt:2', 'a.txt:2', 'a.txt~2', 'a.txt~2'],
    );
    // The same text at another offset is another span: both shown.
    const elsewhere = rec('b', first, 100, ['Marie Curie', 'Warsaw'], [born()]);
    assert.equal(
      textOverlay(PARA, [
        { record: old, line: 0 },
        { record: elsewhere, line: 1 },
      ]).superseded,
      0,
    );
  });

  it('a record whose text moved is found again; an edited text keeps the mentions still there and hides the rest', () => {
    const first = PARA.slice(0, 31);
    const r = rec('a', first, 0, ['Marie Curie', 'Warsaw'], [born()]);
    // Text inserted before: the whole record text moved by 9 characters.
    const moved = 'Preface. ' + PARA;
    const m = textOverlay(moved, [{ record: r, line: 0 }]);
    assert.equal(m.stale, 1);
    assert.deepEqual(
      m.mentions.map((x) => moved.slice(x.start, x.end)),
      ['Marie Curie', 'Warsaw'],
    );
    assert.equal(m.triples.length, 1);
    // The sentence itself edited ("born" → "raised"): both mentions are still found by their text.
    const edited = PARA.replace('born', 'raised');
    const e = textOverlay(edited, [{ record: r, line: 0 }]);
    assert.equal(e.stale, 1);
    assert.equal(e.lostMentions, 0);
    assert.deepEqual(
      e.mentions.map((x) => edited.slice(x.start, x.end)),
      ['Marie Curie', 'Warsaw'],
    );
    // An entity's text removed: its mention is lost and the relation hidden, never guessed.
    const gone = PARA.replace('Warsaw', 'a city');
    const g = textOverlay(gone, [{ record: r, line: 0 }]);
    assert.equal(g.lostMentions, 1);
    assert.equal(g.hiddenRelations, 1);
    assert.equal(g.triples.length, 0);
    assert.deepEqual(
      g.mentions.map((x) => gone.slice(x.start, x.end)),
      ['Marie Curie'],
    );
  });

  it('Chinese sentences end at 。, rejected predictions and the no-relation label are not shown', () => {
    const zh = '马云创办了阿里巴巴。他住在杭州。';
    const r = rec(
      'z',
      zh,
      0,
      ['马云', '阿里巴巴'],
      [
        { head: 'e0', tail: 'e1', label: '创始人', source: 'model', score: 0.9 },
        { head: 'e0', tail: 'e1', label: 'NA', source: 'model', score: 0.1 },
        { head: 'e1', tail: 'e0', label: '雇员', source: 'model', score: 0.2, status: 'rejected' },
      ],
    );
    const o = textOverlay(zh, [{ record: r, line: 3 }], 'NA');
    assert.equal(o.triples.length, 1);
    assert.equal(o.triples[0]!.at, zh.indexOf('。') + 1);
    assert.equal(o.triples[0]!.label, '创始人');
  });

  it('helpers: nearest occurrence, sentence ends, source refs, grouping by place and status', () => {
    assert.equal(nearestOccurrence('ab ab ab', 'ab', 4), 3);
    assert.equal(nearestOccurrence('ab ab ab', 'ab', 0), 0);
    assert.equal(nearestOccurrence('ab', 'x', 0), -1);
    assert.equal(sentenceEnd('One. Two', 0), 4);
    assert.equal(sentenceEnd('No end here\nnext.', 0), 11, 'the line end');
    assert.equal(sentenceEnd('No end', 2), 6);
    assert.equal(sentenceEnd('Version 2.1 is out.', 0), 19, 'a dot inside a number is no end');
    const r = rec('a', 'x y', 7, ['x', 'y'], []);
    assert.deepEqual(sourceOf(r), { offset: 7, file: '/w/a.txt', sha256: 'x' });
    assert.deepEqual(sourceOf({ ...r, meta: {} }), { offset: 0 });
    const t = (at: number, status: 'prediction' | 'gold', text: string) =>
      ({ at, status, text }) as Parameters<typeof groupTriples>[0][number];
    assert.deepEqual(
      groupTriples([t(5, 'prediction', 'a'), t(5, 'prediction', 'b'), t(5, 'gold', 'c')]),
      [
        { at: 5, status: 'prediction', text: 'a · b' },
        { at: 5, status: 'gold', text: 'c' },
      ],
    );
  });
});
