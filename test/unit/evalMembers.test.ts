/**
 * Evaluation you can click into (issue 29, part 3): the records behind each confusion cell and
 * each relation, as record ids, for the three metrics (micro, SemEval's official scorer, DocRED),
 * and who curated what (part 2): the annotator on each curation action.
 */
import { strict as assert } from 'node:assert';
import { curate, ignoreRecord } from '../../src/core/curation';
import { addRelation } from '../../src/core/editor/recordView';
import { evaluateMicro, evaluateRecords } from '../../src/core/eval';
import { EvalResult } from '../../src/core/eval/types';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { RelRecord, validateRecord } from '../../src/core/schema';
import { loadRecords } from '../../src/node/load';
import { sampleRecords } from '../helpers/cli';
import { pairRecord } from '../helpers/records';
import { dataset, requireShared } from '../helpers/shared';

/** Every non-empty cell has records, every empty one none, and all are ids of these records. */
function checkCells(r: EvalResult, ids: Set<string>, exact: boolean): void {
  const m = r.members!;
  assert.ok(m, 'members');
  r.confusion.matrix.forEach((row, i) =>
    row.forEach((count, j) => {
      const cell = m.cells[i]![j]!;
      const where = `cell ${r.confusion.labels[i]} → ${r.confusion.labels[j]}`;
      if (exact) assert.equal(cell.length, count, where);
      else assert.equal(cell.length > 0, count > 0, where);
      assert.ok(cell.length <= count, where);
      for (const id of cell) assert.ok(ids.has(id), `${where}: ${id} is not a record id`);
    }),
  );
}

describe('evaluation members: the records behind each figure', () => {
  it('micro, hand-computed: each cell and each relation names its records', () => {
    const gold = [
      pairRecord('r1', 'A'),
      pairRecord('r2', 'B'),
      pairRecord('r3', null),
      pairRecord('r4', 'A'),
    ];
    const pred = [
      pairRecord('r1', 'A'),
      pairRecord('r2', null),
      pairRecord('r3', 'B'),
      pairRecord('r4', 'B'),
    ];
    const r = evaluateMicro(gold, pred);
    assert.deepEqual(r.confusion.labels, ['A', 'B', 'no_relation']);
    assert.deepEqual(r.members!.cells, [
      [['r1'], ['r4'], []],
      [[], [], ['r2']],
      [[], ['r3'], []],
    ]);
    assert.deepEqual(r.members!.perRelation, { A: ['r1', 'r4'], B: ['r2', 'r3', 'r4'] });
  });

  it('SemEval (official scorer): a cell names exactly its sentences, as record ids, a wrong direction in no cell', () => {
    const gold = sampleRecords();
    // Sentence 1 relabelled, sentence 2 the other way round, sentence 3 Other.
    const flip = (r: RelRecord): RelRecord => ({
      ...r,
      relations: r.relations.map((x) => ({ ...x, head: x.tail, tail: x.head })),
    });
    const relabel = (r: RelRecord, label: string): RelRecord => ({
      ...r,
      relations: r.relations.map((x) => ({ ...x, label })),
    });
    const pred = gold.map((r, i) =>
      i === 0 ? relabel(r, 'Message-Topic') : i === 1 ? flip(r) : i === 2 ? relabel(r, 'Other') : r,
    );
    const r = evaluateRecords(gold, pred, SEMEVAL_RELATIONS, 'semeval');
    const ids = new Set(gold.map((x) => x.id));
    const L = r.confusion.labels;
    const at = (g: string, p: string) => r.members!.cells[L.indexOf(g)]![L.indexOf(p)]!;
    assert.deepEqual(at('Cause-Effect', 'Message-Topic'), [gold[0]!.id]);
    assert.deepEqual(at('Entity-Destination', 'Other'), [gold[2]!.id]);
    // The wrong direction is the scorer's WRONG_DIR column, which the matrix does not show.
    assert.ok(!r.members!.cells.flat(2).includes(gold[1]!.id));
    assert.ok(r.members!.perRelation['Component-Whole']!.includes(gold[1]!.id));
    // A relation's records: those with it in gold or prediction (direction aside).
    const has = (recs: RelRecord[], id: string, l: string) =>
      recs.find((x) => x.id === id)!.relations.some((x) => x.label.startsWith(l));
    assert.deepEqual(
      r.members!.perRelation['Cause-Effect'],
      gold
        .map((x) => x.id)
        .filter((id) => has(gold, id, 'Cause-Effect') || has(pred, id, 'Cause-Effect')),
    );
    checkCells(r, ids, true);
  });

  it('DocRED (Re-DocRED dev, first 20 documents with changes): cells and relations name documents by record id', async function () {
    const file = dataset('redocred', 'dev_revised.json');
    requireShared(this, file);
    const all = (await loadRecords(file)).records.slice(0, 20);
    const rs = (await loadRecords(file, { relInfo: dataset('redocred', 'rel_info.json') }))
      .relationSet;
    // Document 0 loses its relations, document 1 has each relabelled to another of the set.
    const other = rs!.labels[0]!.name;
    const pred = all.map((r, i) =>
      i === 0
        ? { ...r, relations: [] }
        : i === 1
          ? { ...r, relations: r.relations.map((x) => ({ ...x, label: other })) }
          : r,
    );
    const r = evaluateRecords(all, pred, rs, 'docred');
    checkCells(r, new Set(all.map((x) => x.id)), false);
    const L = r.confusion.labels;
    const missed = L.map((_, i) => r.members!.cells[i]![L.length - 1]!).flat();
    assert.ok(
      missed.includes(all[0]!.id),
      'a missed fact of document 0 is in the "no relation" column',
    );
    // Document 1's relabelled facts are under that relation (DocRED's P-number).
    const pid = rs!.labels[0]!.id ?? other;
    assert.ok(r.members!.perRelation[pid]!.includes(all[1]!.id), pid);
  });
});

describe('annotator on curation actions', () => {
  const r = sampleRecords()[0]!;
  const withPred: RelRecord = {
    ...r,
    relations: [
      ...r.relations,
      { head: 'e1', tail: 'e2', label: 'Entity-Origin', source: 'model', status: 'pending' },
    ],
  };

  it('accept, reject, ignore and relabel name who decided (the last decision), and the record stays valid', () => {
    for (const kind of ['accept', 'reject', 'ignore'] as const) {
      const c = curate(withPred, 1, { kind }, 'alice');
      assert.equal(c.relations[1]!.meta?.['annotator'], 'alice');
      assert.equal(c.relations[1]!.meta?.['predictedBy'], 'model');
      assert.ok(validateRecord(c).ok);
    }
    const twice = curate(
      curate(withPred, 1, { kind: 'accept' }, 'alice'),
      1,
      { kind: 'edit', label: 'Other' },
      'bob',
    );
    assert.equal(twice.relations[1]!.meta?.['annotator'], 'bob');
    assert.equal(twice.relations[1]!.meta?.['predictedLabel'], 'Entity-Origin');
    // Without a name nothing is added (the CLI's and older callers' records are unchanged).
    assert.equal(
      curate(withPred, 1, { kind: 'accept' }).relations[1]!.meta?.['annotator'],
      undefined,
    );
  });

  it('an added relation and a record set aside name the annotator; taking the record back removes both marks', () => {
    const added = addRelation(withPred, { head: 'e2', tail: 'e1', label: 'Other' }, 'carol');
    assert.deepEqual(added.relations.at(-1), {
      head: 'e2',
      tail: 'e1',
      label: 'Other',
      source: 'human',
      status: 'accepted',
      meta: { annotator: 'carol' },
    });
    const aside = ignoreRecord(withPred, true, 'dave');
    assert.equal(aside.meta?.['ignored'], true);
    assert.equal(aside.meta?.['ignoredBy'], 'dave');
    const back = ignoreRecord(aside, false, 'dave');
    assert.equal(back.meta?.['ignored'], undefined);
    assert.equal(back.meta?.['ignoredBy'], undefined);
    assert.ok(validateRecord(back).ok);
  });
});
