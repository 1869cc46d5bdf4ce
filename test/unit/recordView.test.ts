/** The record view's model and the curator's edits (core/editor/recordView.ts). */
import { strict as assert } from 'node:assert';
import {
  addEntity,
  addRelation,
  deleteRelation,
  isReviewed,
  labelsForPair,
  recordView,
  snapSpan,
  textSegments,
} from '../../src/core/editor/recordView';
import { RelRecord, RelationSet, validateRecord } from '../../src/core/schema';

const REC: RelRecord = {
  id: 's1',
  text: 'The burst has been caused by water hammer pressure.',
  entities: [
    { id: 'e1', name: 'burst', mentions: [{ start: 4, end: 9 }] },
    { id: 'e2', name: 'pressure', mentions: [{ start: 42, end: 50 }] },
  ],
  relations: [
    { head: 'e2', tail: 'e1', label: 'Cause-Effect', source: 'gold' },
    {
      head: 'e2',
      tail: 'e1',
      label: 'Cause-Effect',
      source: 'model',
      score: 0.7,
      status: 'pending',
    },
    { head: 'e1', tail: 'e2', label: 'Other', source: 'model', score: 0.2, status: 'rejected' },
  ],
};

const RS: RelationSet = {
  name: 't',
  noRelation: 'Other',
  directed: true,
  labels: [
    { name: 'founded_by', headTypes: ['ORG'], tailTypes: ['PER'] },
    { name: 'located_in', headTypes: ['ORG', 'LOC'], tailTypes: ['LOC'] },
    { name: 'related' },
  ],
};

describe('record view (core)', () => {
  it('cuts the text at mentions, keeping offsets; overlapping mentions keep the first', () => {
    const s = textSegments(REC);
    assert.equal(s.map((x) => x.text).join(''), REC.text);
    assert.deepEqual(
      s.filter((x) => x.entity !== undefined).map((x) => [x.text, x.entity, x.start]),
      [
        ['burst', 0, 4],
        ['pressure', 1, 42],
      ],
    );
    const overlap: RelRecord = {
      ...REC,
      entities: [
        ...REC.entities,
        { id: 'e3', name: 'hammer pressure', mentions: [{ start: 35, end: 50 }] },
      ],
    };
    const o = textSegments(overlap);
    assert.equal(o.map((x) => x.text).join(''), REC.text);
    assert.deepEqual(
      o.filter((x) => x.entity !== undefined).map((x) => x.text),
      ['burst', 'hammer pressure'],
    );
  });

  it('shows relations by status, rejected ones struck through, and counts what is left to review', () => {
    const v = recordView(REC, 'Other');
    assert.equal(v.pending, 1);
    assert.equal(v.reviewed, false);
    assert.deepEqual(
      v.triples.map((t) => [t.relation, t.status, t.decision ?? '', t.head, t.tail]),
      [
        [1, 'agree', 'pending', 1, 0],
        [2, 'prediction', 'rejected', 0, 1],
      ],
    );
    assert.match(v.triples[1]!.text, /✗$/);
    assert.deepEqual(v.sources.sort(), ['gold', 'model']);
    assert.equal(isReviewed({ ...REC, relations: REC.relations.slice(0, 1) }), true);
  });

  it('offers the labels whose types admit the pair, plus the no-relation label', () => {
    assert.deepEqual(labelsForPair(RS, 'ORG', 'PER'), ['founded_by', 'related', 'Other']);
    assert.deepEqual(labelsForPair(RS, 'ORG', 'LOC'), ['located_in', 'related', 'Other']);
    assert.deepEqual(labelsForPair(RS, null, null), [
      'founded_by',
      'located_in',
      'related',
      'Other',
    ]);
  });

  it('adds and deletes relations; added entities snap to words and stay valid records', () => {
    const added = addRelation(REC, { head: 'e1', tail: 'e2', label: 'related' });
    assert.deepEqual(added.relations.at(-1), {
      head: 'e1',
      tail: 'e2',
      label: 'related',
      source: 'human',
      status: 'accepted',
    });
    assert.throws(() => addRelation(REC, { head: 'e1', tail: 'zz', label: 'x' }), /no entity zz/);
    assert.equal(deleteRelation(added, 3).relations.length, 3);
    // "ater hamm" snaps to "water hammer".
    const start = REC.text.indexOf('ater');
    const { record, entity } = addEntity(REC, { start, end: start + 9 });
    const e = record.entities.find((x) => x.id === entity)!;
    assert.equal(e.name, 'water hammer');
    assert.ok(validateRecord(record).ok);
    // The same span again: no second entity.
    const again = addEntity(record, { start: e.mentions[0]!.start, end: e.mentions[0]!.end });
    assert.equal(again.entity, entity);
    assert.equal(again.record.entities.length, 3);
    assert.throws(() => addEntity(REC, { start: 3, end: 4 }), /no text/);
  });

  it('snaps spans in Chinese per character and never splits a surrogate pair', () => {
    assert.deepEqual(snapSpan('马云创办了阿里巴巴。', 5, 9), { start: 5, end: 9 });
    const t = 'a 😀b c';
    // Offset 3 is the low half of the emoji: the span widens to keep the pair whole.
    const s = snapSpan(t, 3, 5);
    assert.equal(t.slice(s.start, s.end), '😀b');
  });
});
