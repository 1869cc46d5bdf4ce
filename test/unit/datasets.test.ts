/** The importers reproduce the counts of ../shared/docs/datasets.md exactly, on the real files. */
import { strict as assert } from 'node:assert';
import { candidatePairs } from '../../src/core/schema';
import { loadRecords } from '../../src/node/load';
import { dataset, requireShared } from '../helpers/shared';

describe('real datasets (../shared/datasets)', () => {
  const cases: Array<
    [string, string[], number, (r: Awaited<ReturnType<typeof loadRecords>>) => void]
  > = [
    ['SemEval train', ['semeval2010_task8', 'TRAIN_FILE.TXT'], 8000, () => {}],
    [
      'SemEval test',
      ['semeval2010_task8', 'TEST_FILE_FULL.TXT'],
      2717,
      (r) => {
        const labels = new Set(
          r.records.map((x) =>
            x.relations[0]
              ? `${x.relations[0].label}(${x.relations[0].head},${x.relations[0].tail})`
              : 'Other',
          ),
        );
        assert.equal(labels.size, 19, '19 labels: 9 relations × 2 directions + Other');
        assert.equal(r.records[0]!.id, 'semeval-test-8001');
      },
    ],
    ['FinRE train', ['finre', 'train.txt'], 13486, () => {}],
    ['FinRE valid', ['finre', 'valid.txt'], 1489, () => {}],
    [
      'FinRE test',
      ['finre', 'test.txt'],
      3727,
      (r) => {
        assert.equal(
          r.records.filter((x) => x.relations.length === 0).length,
          1005,
          '1005 unknown',
        );
        assert.equal(r.relationSet!.labels.length + 1, 44, '44 labels incl. unknown');
      },
    ],
    ['SanWen train', ['sanwen', 'train.txt'], 17227, () => {}],
    ['SanWen valid', ['sanwen', 'valid.txt'], 1793, () => {}],
    [
      'SanWen test',
      ['sanwen', 'test.txt'],
      2220,
      (r) => assert.equal(r.relationSet!.labels.length + 1, 10),
    ],
  ];
  for (const [name, parts, count, extra] of cases) {
    it(`${name}: ${count} examples, no errors`, async function () {
      const file = dataset(...parts);
      requireShared(this, file);
      const r = await loadRecords(file);
      assert.equal(
        r.diagnostics.filter((d) => d.severity === 'error').length,
        0,
        JSON.stringify(r.diagnostics.slice(0, 3)),
      );
      assert.equal(r.records.length, count);
      extra(r);
    });
  }

  for (const [split, docs, triples, pairs] of [
    ['dev', 500, 17284, 193232],
    ['test', 500, 17448, 198670],
  ] as const) {
    it(`Re-DocRED ${split}: ${docs} documents, ${triples} triples, ${pairs} candidate ordered pairs`, async function () {
      const file = dataset('redocred', `${split}_revised.json`);
      const relInfo = dataset('redocred', 'rel_info.json');
      requireShared(this, file, relInfo);
      const r = await loadRecords(file, { relInfo });
      assert.equal(r.records.length, docs);
      assert.equal(
        r.records.reduce((n, x) => n + x.relations.length, 0),
        triples,
      );
      assert.equal(
        r.records.reduce((n, x) => n + candidatePairs(x).length, 0),
        pairs,
      );
      assert.equal(r.relationSet!.labels.length, 96);
      assert.ok(
        r.records[0]!.relations.every((x) => !/^P\d+$/.test(x.label)),
        'labels carry rel_info names',
      );
      // The three documents per split whose annotated mention names differ from their tokens are kept, with a warning.
      assert.equal(r.diagnostics.filter((d) => d.severity === 'error').length, 0);
      assert.equal(r.diagnostics.filter((d) => d.severity === 'warning').length, 3);
    });
  }
});
