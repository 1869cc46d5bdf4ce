/** Alignment of generated triples (LMRC): the seed's failure cases and the lenient line parser. */
import { strict as assert } from 'node:assert';
import {
  RelationAligner,
  TextEmbedder,
  entityIndex,
  normalizeName,
  parseTriples,
} from '../../src/core/pipelines/align';

const DOCRED_SOME = [
  'country',
  'located in the administrative territorial entity',
  'date of birth',
  'place of birth',
  'member of sports team',
  'publication date',
  'author',
];

/**
 * A real (if simple) text embedder for the θ logic: character-trigram counts. It gives
 * "birth date" and "date of birth" a high cosine, and "banana" a low one with everything.
 */
const trigramEmbedder: TextEmbedder = {
  async embed(text: string) {
    const v = new Array<number>(512).fill(0);
    const s = `  ${text.toLowerCase()}  `;
    for (let i = 0; i + 3 <= s.length; i++) {
      let h = 0;
      for (const c of s.slice(i, i + 3)) h = (h * 31 + c.charCodeAt(0)) % 512;
      v[h]! += 1;
    }
    return v;
  },
};

describe('alignment (LMRC)', () => {
  describe('relations', () => {
    const aligner = new RelationAligner(DOCRED_SOME);

    it('a "-" copied from the input pair format is dropped as a placeholder, not mapped', async () => {
      for (const s of ['-', ' - ', '--', '—'])
        assert.deepEqual(await aligner.align(s), { label: null, reason: 'placeholder' });
    });

    it('None and its variants mean "no relation"', async () => {
      for (const s of ['None', 'none', 'NONE.', 'no relation', 'N/A']) {
        const m = await aligner.align(s);
        assert.equal(m.label, null, s);
        assert.ok('none' in m && m.none, s);
      }
    });

    it('exact and normalized names (case, underscores, punctuation, spaces)', async () => {
      assert.deepEqual(await aligner.align('country'), {
        label: 'country',
        how: 'exact',
        score: 1,
      });
      const cases: Array<[string, string]> = [
        ['Country', 'country'],
        ['COUNTRY ', 'country'],
        ['date_of_birth', 'date of birth'],
        ['Date-of-Birth', 'date of birth'],
        ['place  of birth.', 'place of birth'],
      ];
      for (const [s, want] of cases)
        assert.deepEqual(await aligner.align(s), { label: want, how: 'normalized', score: 1 }, s);
    });

    it('near-miss relation names map by fuzzy ratio; unrelated names are out of set', async () => {
      const m = await aligner.align('located in the administrative territorial entities');
      assert.equal(m.label, 'located in the administrative territorial entity');
      assert.equal(m.label !== null && m.how, 'fuzzy');
      const miss = await aligner.align('married to');
      assert.equal(miss.label, null);
      assert.equal(!('none' in miss && miss.none) && 'reason' in miss && miss.reason, 'out-of-set');
    });

    it('out-of-set names map by embedding similarity at or above θ, and are dropped below', async () => {
      const withEmb = new RelationAligner(DOCRED_SOME, {
        embedder: trigramEmbedder,
        theta: 0.55,
        fuzzyThreshold: 0,
      });
      const m = await withEmb.align('birth date');
      assert.equal(m.label, 'date of birth');
      assert.equal(m.label !== null && m.how, 'semantic');
      assert.ok(m.label !== null && m.score >= 0.55);
      const low = await withEmb.align('banana');
      assert.equal(low.label, null);
      assert.ok(
        'reason' in low && low.reason === 'out-of-set' && low.best && low.best.score < 0.55,
      );
      const strict = new RelationAligner(DOCRED_SOME, {
        embedder: trigramEmbedder,
        theta: 0.99,
        fuzzyThreshold: 0,
      });
      assert.equal((await strict.align('birth date')).label, null);
    });

    it('a relation set that has a label named like a none word keeps it as a label', async () => {
      const a = new RelationAligner(['Other', 'Cause-Effect']);
      assert.deepEqual(await a.align('other'), { label: 'Other', how: 'normalized', score: 1 });
    });
  });

  describe('entities', () => {
    const idx = entityIndex([
      { id: 'e0', name: 'Barack Obama', aliases: ['Obama'] },
      { id: 'e1', name: 'Michelle Obama' },
      { id: 'e2', name: 'U.S.' },
      { id: 'e3', name: '臺灣銀行' },
      { id: 'e4', name: 'ＩＢＭ' },
      { id: 'e5', name: 'Honolulu, Hawaii' },
    ]);

    it('exact names and aliases', () => {
      assert.deepEqual(idx.match('Barack Obama'), { id: 'e0', how: 'exact', score: 100 });
      assert.deepEqual(idx.match('Obama'), { id: 'e0', how: 'exact', score: 100 });
    });

    it('different casing, punctuation, width and Chinese script variants are normalized', () => {
      assert.equal(idx.match('barack obama').id, 'e0');
      assert.equal((idx.match('BARACK OBAMA') as { how: string }).how, 'normalized');
      assert.equal(idx.match('US').id, null, 'U.S. → "u s", not "us"');
      assert.equal(idx.match('u.s').id, 'e2');
      assert.equal(idx.match('台湾银行').id, 'e3', 'Simplified → Traditional');
      assert.equal(idx.match('台灣銀行').id, 'e3', 'mixed variants');
      assert.equal(idx.match('IBM').id, 'e4', 'full-width');
      assert.equal(idx.match('Honolulu Hawaii').id, 'e5');
    });

    it('fuzzy matches above the threshold; ties between different entities are ambiguous', () => {
      const m = idx.match('Barak Obama');
      assert.equal(m.id, 'e0');
      assert.equal(m.id !== null && m.how, 'fuzzy');
      const tie = entityIndex([
        { id: 'a', name: 'John Smith' },
        { id: 'b', name: 'Jane Smith' },
      ]).match('Smith');
      assert.equal(tie.id, null);
      assert.equal(tie.id === null && tie.reason, 'ambiguous');
      assert.equal(idx.match('Paris').id, null);
      assert.equal(
        entityIndex([{ id: 'a', name: 'Barack Obama' }], 0).match('Barak Obama').id,
        null,
        'threshold 0 disables fuzzy matching',
      );
    });

    it('two entities with the same name are ambiguous, not guessed', () => {
      const m = entityIndex([
        { id: 'a', name: 'Springfield' },
        { id: 'b', name: 'Springfield' },
      ]).match('Springfield');
      assert.equal(m.id, null);
      assert.equal(m.id === null && m.reason, 'ambiguous');
    });

    it('normalizeName', () => {
      assert.equal(normalizeName('  Hello,   World! '), 'hello world');
      assert.equal(normalizeName('臺灣'), '台湾');
    });
  });

  describe('parseTriples', () => {
    it('reads (head| relation| tail) lines leniently and reports the rest', () => {
      const out = [
        '(Barack Obama| place of birth| Honolulu)',
        '1. (Obama| country| U.S.)',
        '- (Obama |date of birth| 1961)',
        '(臺灣銀行｜country｜台湾)',
        '(A| rel| B',
        'The answer is:',
        '(only two| parts)',
        '',
        '(X| a|b| Y)',
      ].join('\n');
      const { triples, bad } = parseTriples(out);
      assert.deepEqual(
        triples.map((t) => [t.head, t.relation, t.tail, t.line]),
        [
          ['Barack Obama', 'place of birth', 'Honolulu', 1],
          ['Obama', 'country', 'U.S.', 2],
          ['Obama', 'date of birth', '1961', 3],
          ['臺灣銀行', 'country', '台湾', 4],
          ['A', 'rel', 'B', 5],
          ['X', 'a|b', 'Y', 9],
        ],
      );
      assert.deepEqual(
        bad.map((b) => b.line),
        [6, 7],
      );
    });

    it('a fourth field of sentence numbers is evidence; a fourth field that is not numbers stays in the relation', () => {
      const { triples, bad } = parseTriples(
        [
          '(Alice| place of birth| Paris| 0, 3)',
          '(A| r| B| [2,1,2])',
          '(A| r| B| sentences 4 5)',
          '(A| r|x| B)',
          '(A| r| B| 0,)',
          '(A| r| 1990)',
        ].join('\n'),
      );
      assert.deepEqual(
        triples.map((t) => [t.head, t.relation, t.tail, t.evidence]),
        [
          ['Alice', 'place of birth', 'Paris', [0, 3]],
          ['A', 'r', 'B', [1, 2]],
          ['A', 'r', 'B', [4, 5]],
          ['A', 'r|x', 'B', undefined],
          ['A', 'r| B', '0,', undefined],
          ['A', 'r', '1990', undefined],
        ],
      );
      assert.equal(bad.length, 0);
    });

    it('never throws on garbage', () => {
      for (const s of ['', '\u0000\u0001', ')))(((', '|||', '('.repeat(10000), 'a\r\nb\rc'])
        assert.doesNotThrow(() => parseTriples(s));
    });
  });
});
