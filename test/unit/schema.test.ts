import { strict as assert } from 'node:assert';
import { readCanonical } from '../../src/core/formats/canonical';
import { linesOfText } from '../../src/core/io/lines';
import {
  RelRecord,
  candidatePairs,
  validateRecord,
  validateRelationSet,
} from '../../src/core/schema';

const good: RelRecord = {
  id: 'r1',
  text: '上海浦东发展银行 acquired 🚀Rocket Co.',
  entities: [
    { id: 'e1', name: '上海浦东发展银行', type: 'ORG', mentions: [{ start: 0, end: 8 }] },
    { id: 'e2', name: '🚀Rocket Co.', type: 'ORG', mentions: [{ start: 18, end: 30 }] },
  ],
  relations: [{ head: 'e1', tail: 'e2', label: 'acquired', score: 0.9, source: 'model' }],
  pairs: [['e1', 'e2']],
  meta: {},
};

async function readAll(text: string) {
  const records: RelRecord[] = [];
  const errors: Array<{ line: number; message: string }> = [];
  for await (const ev of readCanonical(linesOfText(text), 'data.jsonl')) {
    if (ev.kind === 'record') records.push(ev.record);
    else errors.push({ line: ev.diagnostic.line, message: ev.diagnostic.message });
  }
  return { records, errors };
}

describe('canonical schema', () => {
  it('accepts a valid record with UTF-16 offsets over CJK and emoji text', () => {
    assert.equal(good.text.slice(18, 30), '🚀Rocket Co.');
    const v = validateRecord(good);
    assert.ok(v.ok, JSON.stringify(v));
  });

  it('reports each malformed line with its number and keeps the valid records', async () => {
    const bad = (patch: (r: RelRecord) => void) => {
      const r = structuredClone(good);
      patch(r);
      return JSON.stringify(r);
    };
    const lines = [
      JSON.stringify(good),
      '{"id": "x", "text": "trunc', // bad JSON
      bad((r) => (r.entities[0]!.mentions[0]!.end = 99)), // offsets out of range
      bad((r) => (r.entities[1]!.name = 'Rocket')), // mention text does not match name
      bad((r) => (r.relations[0]!.tail = 'e9')), // unknown entity id
      '',
      JSON.stringify({ ...good, id: 'r2' }),
      JSON.stringify({ ...good, id: 'r2' }), // duplicate id
      bad((r) => ((r.relations[0] as { score: number }).score = 7)), // score out of [0,1]
    ];
    const { records, errors } = await readAll(lines.join('\n'));
    assert.deepEqual(
      records.map((r) => r.id),
      ['r1', 'r2'],
    );
    assert.deepEqual(
      errors.map((e) => e.line),
      [2, 3, 4, 5, 8, 9],
    );
    assert.match(errors[0]!.message, /invalid JSON/);
    assert.match(errors[1]!.message, /out of range/);
    assert.match(errors[2]!.message, /expected "Rocket"/);
    assert.match(errors[3]!.message, /unknown tail entity id "e9"/);
    assert.match(errors[4]!.message, /duplicate record id/);
    assert.match(errors[5]!.message, /score/);
  });

  it('rejects unknown fields (typos do not pass silently)', () => {
    const v = validateRecord({ ...good, entites: [] });
    assert.ok(!v.ok);
    assert.match(v.problems.join(), /entites/);
  });

  it('validates relation sets', () => {
    assert.ok(
      validateRelationSet({
        name: 'x',
        noRelation: 'Other',
        labels: [{ name: 'A', description: 'a' }],
      }).ok,
    );
    const dup = validateRelationSet({
      name: 'x',
      noRelation: 'A',
      labels: [{ name: 'A' }, { name: 'B' }, { name: 'B' }],
    });
    assert.ok(!dup.ok);
    assert.match(dup.problems.join('; '), /duplicate label "B"/);
    assert.match(dup.problems.join('; '), /no-relation label "A"/);
    assert.ok(!validateRelationSet({ name: 'x', noRelation: null, labels: [] }).ok);
  });

  it('candidate pairs: the listed pairs, or every ordered pair', () => {
    assert.deepEqual(candidatePairs(good), [['e1', 'e2']]);
    const doc = {
      ...good,
      pairs: undefined,
      entities: [...good.entities, { id: 'e3', name: '上海', mentions: [{ start: 0, end: 2 }] }],
    };
    assert.equal(candidatePairs(doc).length, 6);
  });
});
