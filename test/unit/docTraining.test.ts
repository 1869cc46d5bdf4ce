/** Document-level (LMRC) training data: extraction's prompts, the answer lines the aligner reads, the pairs chosen. */
import { strict as assert } from 'node:assert';
import { RelationAligner } from '../../src/core/pipelines/align';
import { extractDocument } from '../../src/core/pipelines/document';
import { pairKey } from '../../src/core/pipelines/pairFilter';
import { LMRC_RC_TEMPLATE, LMRC_TEMPLATE } from '../../src/core/prompts/builtin';
import { RelRecord, RelationSet } from '../../src/core/schema';
import {
  emptyDocTrainingCounts,
  DocTrainingExample,
  renderDocTrainingExamples,
} from '../../src/core/training/docTraining';
import { ScriptedEngine } from '../helpers/scriptedEngine';

const SET: RelationSet = {
  name: 'small',
  noRelation: null,
  directed: true,
  labels: [{ name: 'place of birth' }, { name: 'employer' }, { name: 'located in' }],
};

const TEXT =
  'Alice Smith was born in Paris. She works for Acme Corp. Acme Corp is based in London.';
const at = (name: string) => TEXT.indexOf(name);
const DOC: RelRecord = {
  id: 'alice',
  text: TEXT,
  sentences: [
    { start: 0, end: 30 },
    { start: 31, end: 55 },
    { start: 56, end: TEXT.length },
  ],
  entities: ['Alice Smith', 'Paris', 'Acme Corp', 'London'].map((name, i) => ({
    id: `e${i}`,
    name,
    mentions: [{ start: at(name), end: at(name) + name.length }],
  })),
  relations: [
    { head: 'e0', tail: 'e1', label: 'place of birth', source: 'gold' },
    { head: 'e0', tail: 'e2', label: 'employer', source: 'model', status: 'accepted' },
    { head: 'e2', tail: 'e3', label: 'located in', source: 'human' },
    { head: 'e1', tail: 'e3', label: 'located in', source: 'model', status: 'rejected' },
    { head: 'e3', tail: 'e1', label: 'employer', source: 'model', status: 'pending' },
    { head: 'e0', tail: 'e3', label: 'spouse', source: 'gold' },
  ],
};

const counts = emptyDocTrainingCounts;

async function render(
  o: Partial<Parameters<typeof renderDocTrainingExamples>[1]>,
  c = counts(),
): Promise<DocTrainingExample[]> {
  const out: DocTrainingExample[] = [];
  for await (const e of renderDocTrainingExamples(
    [DOC],
    { relationSet: SET, template: LMRC_TEMPLATE, none: true, k: 2, seed: 0, ...o },
    c,
  ))
    out.push(e);
  return out;
}

describe('document-level training data (LMRC)', () => {
  it('settled relations are the positives; pending pairs and labels outside the set are left out and counted', async () => {
    const c = counts();
    const ex = await render({ template: LMRC_RC_TEMPLATE, none: false, k: 8 }, c);
    assert.equal(ex.length, 1);
    assert.equal(
      ex[0]!.answer,
      '(Alice Smith| place of birth| Paris)\n(Alice Smith| employer| Acme Corp)\n(Acme Corp| located in| London)\n',
      'in the candidate order, one line per relation',
    );
    assert.deepEqual(c, {
      records: 1,
      positives: 3,
      negatives: 0,
      pending: 1,
      ignored: 0,
      unknownLabel: 1,
      unfit: 0,
    });
  });

  it("a relation labelled with the set's id (DocRED's P-numbers) answers with the relation's name", async () => {
    const withIds: RelationSet = {
      ...SET,
      labels: SET.labels.map((l, i) => ({ ...l, id: `P${i + 1}` })),
    };
    const out: DocTrainingExample[] = [];
    for await (const e of renderDocTrainingExamples(
      [{ ...DOC, relations: [{ head: 'e0', tail: 'e1', label: 'P1', source: 'gold' }] }],
      { relationSet: withIds, template: LMRC_RC_TEMPLATE, none: false, k: 8, seed: 0 },
      counts(),
    ))
      out.push(e);
    assert.equal(out[0]?.answer, '(Alice Smith| place of birth| Paris)\n');
  });

  it('with None allowed, a fixed sample of the other pairs answers None (never a pending pair)', async () => {
    const c = counts();
    const ex = await render({ negativesPerPositive: 1 }, c);
    const lines = ex.flatMap((e) => e.answer.trimEnd().split('\n'));
    assert.equal(lines.length, 6, '3 positives and 3 negatives');
    assert.equal(lines.filter((l) => l.includes('| None| ')).length, 3);
    assert.ok(!lines.includes('(London| None| Paris)'), 'the pending pair is not a negative');
    assert.equal(c.negatives, 3);
    assert.deepEqual(
      (await render({ negativesPerPositive: 1 })).map((e) => e.answer),
      ex.map((e) => e.answer),
      'the same sample for the same seed',
    );
    assert.ok(
      ex.every((e) => e.pairs <= 2),
      'k pairs per prompt',
    );
  });

  it("with a filter's kept pairs, the negatives come only from them (extraction's candidates)", async () => {
    const kept = new Map([
      ['alice', new Set([pairKey('e1', 'e0'), pairKey('e3', 'e2'), pairKey('e0', 'e1')])],
    ]);
    const c = counts();
    const ex = await render({ negativesPerPositive: 3, kept }, c);
    const none = ex
      .flatMap((e) => e.answer.trimEnd().split('\n'))
      .filter((l) => l.includes('| None| '));
    assert.deepEqual(
      [...none].sort(),
      ['(London| None| Acme Corp)', '(Paris| None| Alice Smith)'],
      'the two kept pairs without a relation, nothing else',
    );
    assert.equal(c.negatives, 2);
  });

  it('the prompt is token for token the prompt extraction sends for the same pairs, and the aligner reads the answer back', async () => {
    // Every pair of the document in extraction (no filter) and in training (all negatives).
    const all: RelRecord = {
      ...DOC,
      relations: DOC.relations.filter((r) => r.status !== 'pending' && r.label !== 'spouse'),
    };
    const ex: DocTrainingExample[] = [];
    for await (const e of renderDocTrainingExamples(
      [all],
      {
        relationSet: SET,
        template: LMRC_TEMPLATE,
        none: true,
        k: 4,
        seed: 0,
        negativesPerPositive: 100,
      },
      counts(),
    ))
      ex.push(e);
    assert.equal(
      ex.reduce((n, e) => n + e.pairs, 0),
      12,
      'all 12 ordered pairs',
    );
    const answers = new Map(ex.map((e) => [e.prompt.user, e.answer]));
    const engine = new ScriptedEngine((p) => answers.get(p.user) ?? '');
    const { record } = await extractDocument(
      engine,
      { ...all, relations: [] },
      {
        relationSet: SET,
        template: LMRC_TEMPLATE,
        none: true,
        k: 4,
        filter: { kind: 'none' },
        aligner: new RelationAligner(SET.labels.map((l) => l.name)),
        model: 'scripted',
      },
    );
    assert.deepEqual(
      engine.prompts.map((p) => [p.system, p.user]),
      ex.map((e) => [e.prompt.system, e.prompt.user]),
      'the same prompts, in the same order',
    );
    const triples = (r: RelRecord) =>
      r.relations
        .filter((x) => x.status !== 'rejected')
        .map((x) => `${x.head} ${x.label} ${x.tail}`)
        .sort();
    assert.deepEqual(
      triples(record),
      triples(all),
      'the training answers align back to the settled relations',
    );
  });
});
