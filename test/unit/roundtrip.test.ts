/** Export → import round trips are lossless (property tests over CJK, emoji and ASCII text). */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { readCanonical, serializeRecord } from '../../src/core/formats/canonical';
import { exportChineseTsv, importChineseTsv } from '../../src/core/formats/chineseTsv';
import { exportDoccano, importDoccano } from '../../src/core/formats/doccano';
import { exportSemEvalTxt, importSemEval } from '../../src/core/formats/semeval';
import { linesOfText } from '../../src/core/io/lines';
import { RelRecord } from '../../src/core/schema';
import { linesOf } from '../helpers/lines';

// Characters from several scripts, astral emoji included (surrogate pairs in UTF-16).
const char = fc.constantFrom(
  ...'abcXYZ019 .,-\'"\\/上海银行合并东方航空母亲的。、😀🚀👩‍💻🏢𝄞é'.match(/./gu)!,
);
const word = fc
  .array(char, { minLength: 1, maxLength: 8 })
  .map((a) => a.join(''))
  .filter((w) => w.trim() === w && w.length > 0 && !/[<>]/.test(w));
const filler = fc.array(char, { maxLength: 12 }).map((a) => a.join(''));

/** A sentence-level record: two non-overlapping entities in a text, a relation or none. */
const sentenceRecord = fc
  .record({
    a: filler,
    h: word,
    b: filler,
    t: word,
    c: filler,
    label: fc.option(fc.constantFrom('Cause-Effect', 'Message-Topic', '合并', 'per:employee_of'), {
      nil: null,
    }),
    reversed: fc.boolean(),
    n: fc.integer({ min: 1, max: 99999 }),
  })
  .map(({ a, h, b, t, c, label, reversed, n }): RelRecord => {
    const sep = b.length ? b : ' ';
    const text = `${a}${h}${sep}${t}${c}`;
    const hs = a.length;
    const ts = a.length + h.length + sep.length;
    return {
      id: `r-${n}`,
      text,
      entities: [
        { id: 'e1', name: h, type: null, mentions: [{ start: hs, end: hs + h.length }] },
        { id: 'e2', name: t, type: null, mentions: [{ start: ts, end: ts + t.length }] },
      ],
      relations: label
        ? [{ head: reversed ? 'e2' : 'e1', tail: reversed ? 'e1' : 'e2', label, source: 'gold' }]
        : [],
      pairs: [['e1', 'e2']],
    };
  });

describe('round trips', () => {
  it('canonical JSONL: serialize → read gives the same records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(sentenceRecord, { minLength: 1, maxLength: 5 }), async (recs) => {
        const unique = recs.map((r, i) => ({ ...r, id: `${r.id}-${i}` }));
        const text = unique.map((r) => serializeRecord(r) + '\n').join('');
        const back: RelRecord[] = [];
        for await (const ev of readCanonical(linesOfText(text), 'x.jsonl')) {
          assert.equal(ev.kind, 'record', JSON.stringify(ev));
          if (ev.kind === 'record') back.push(ev.record);
        }
        assert.deepEqual(back, unique);
      }),
      { numRuns: 200 },
    );
  });

  it('SemEval TXT: export → import keeps text, spans and the directed label', async () => {
    await fc.assert(
      fc.asyncProperty(sentenceRecord, async (r0) => {
        const r: RelRecord = {
          ...r0,
          text: r0.text.replace(/[\r\n\t"]/g, ' '),
          relations: r0.relations.map((x) => ({ ...x, label: 'Cause-Effect' })),
        };
        fc.pre(!/[\r\n\t"]/.test(r0.text));
        const id = r.id.replace(/\D/g, '');
        const rec = { ...r, id: `semeval-${id}`, meta: { semevalId: id, comment: ' c' } };
        const txt = exportSemEvalTxt([rec]);
        const back = await importSemEval(linesOf(txt), 'x.txt');
        assert.deepEqual(back.diagnostics, []);
        assert.deepEqual(back.records, [rec]);
      }),
      { numRuns: 200 },
    );
  });

  it('FinRE TSV: export → import keeps the pair and label (first occurrences)', async () => {
    await fc.assert(
      fc.asyncProperty(sentenceRecord, async (r) => {
        // TSV identifies entities by string: the round trip is exact when each name's first occurrence is its mention.
        fc.pre(r.text.indexOf(r.entities[0]!.name) === r.entities[0]!.mentions[0]!.start);
        fc.pre(r.text.indexOf(r.entities[1]!.name) === r.entities[1]!.mentions[0]!.start);
        fc.pre(!r.relations[0] || r.relations[0].head === 'e1');
        fc.pre(!/[\t\r\n]/.test(r.text));
        const back = await importChineseTsv(linesOf(exportChineseTsv([r])), 'finre.txt', {
          dataset: 'finre',
        });
        assert.deepEqual(back.diagnostics, []);
        assert.deepEqual(
          back.records.map((x) => ({ ...x, id: r.id })),
          [r],
        );
      }),
      { numRuns: 200 },
    );
  });

  it('doccano JSONL: export → import keeps offsets through the code-point conversion', async () => {
    await fc.assert(
      fc.asyncProperty(sentenceRecord, async (r) => {
        const typed = {
          ...r,
          pairs: undefined,
          entities: r.entities.map((e) => ({ ...e, type: 'T' })),
        };
        const back = await importDoccano(linesOf(exportDoccano([typed])), 'd.jsonl');
        assert.deepEqual(back.diagnostics, []);
        const got = back.records[0]!;
        assert.equal(got.text, r.text);
        assert.deepEqual(
          got.entities.map((e) => [e.name, e.mentions]),
          r.entities.map((e) => [e.name, e.mentions]),
        );
        assert.deepEqual(
          got.relations.map((x) => [x.head, x.tail, x.label]),
          r.relations.map((x) => [x.head, x.tail, x.label]),
        );
      }),
      { numRuns: 200 },
    );
  });
});
