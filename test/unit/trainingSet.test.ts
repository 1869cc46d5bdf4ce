/** Fine-tuning data: which curated pairs become examples, and that their prompts are extraction's. */
import { strict as assert } from 'node:assert';
import { RelRecord, RelationSet } from '../../src/core/schema';
import {
  renderTrainingExamples,
  samplePairs,
  selectTrainingPairs,
} from '../../src/core/training/trainingSet';
import { runSentences } from '../../src/node/jobs';
import {
  curatedReference,
  holdOutIds,
  isSettled,
  withoutRelations,
} from '../../src/core/training/heldOut';
import { ScriptedEngine } from '../helpers/scriptedEngine';
import {
  CRE_LLM_SHORT_TEMPLATE,
  CRE_LLM_TEMPLATE,
  DEFAULT_TEMPLATE,
  RAG4RE_TEMPLATE,
} from '../../src/core/prompts/builtin';
import { answerSpace } from '../../src/core/pipelines/answerSpace';

const RS: RelationSet = {
  name: 'toy',
  directed: true,
  noRelation: 'Other',
  labels: [
    { name: 'Cause-Effect', description: 'the head causes the tail' },
    { name: 'Part-Whole', description: 'the head is part of the tail' },
  ],
};

function rec(id: string, relations: RelRecord['relations']): RelRecord {
  return {
    id,
    text: `The ${id} storm caused the flood.`,
    entities: [
      { id: 'e1', name: 'storm', mentions: [{ start: 4 + id.length + 1, end: 4 + id.length + 6 }] },
      { id: 'e2', name: 'flood', mentions: [{ start: 20 + id.length, end: 25 + id.length }] },
    ],
    relations,
    pairs: [['e1', 'e2']],
  };
}

describe('training data selection', () => {
  const records = [
    rec('gold', [{ head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'gold' }]),
    rec('human', [{ head: 'e2', tail: 'e1', label: 'Part-Whole', source: 'human' }]),
    rec('accepted', [
      { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'model', status: 'accepted' },
    ]),
    rec('pending', [
      { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'model', status: 'pending' },
    ]),
    rec('unreviewed', [{ head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'model' }]),
    rec('rejected', [
      { head: 'e1', tail: 'e2', label: 'Part-Whole', source: 'model', status: 'rejected' },
    ]),
    rec('none', []),
    rec('unknown', [{ head: 'e1', tail: 'e2', label: 'Member-Collection', source: 'gold' }]),
    rec('corrected', [
      { head: 'e1', tail: 'e2', label: 'Part-Whole', source: 'model', status: 'rejected' },
      { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'human' },
    ]),
  ];

  it('takes gold, human and accepted relations, rejected-only and unlabeled pairs as negatives, and names what it left out', () => {
    const s = selectTrainingPairs(records, RS, 'label');
    const got = s.pairs.map((p) => [p.record.id, p.label, p.reversed, p.from]);
    assert.deepEqual(got, [
      ['gold', 'Cause-Effect', false, 'gold'],
      ['human', 'Part-Whole', true, 'human'],
      ['accepted', 'Cause-Effect', false, 'accepted'],
      ['rejected', null, false, 'rejected'],
      ['none', null, false, 'unlabeled'],
      ['corrected', 'Cause-Effect', false, 'human'],
    ]);
    assert.deepEqual(s.counts, {
      records: 6,
      positives: 4,
      negatives: 2,
      pending: 2,
      ignored: 0,
      unknownLabel: 1,
      noAnswer: 0,
    });
  });

  it('without a no-relation answer, negatives are left out and counted', () => {
    const s = selectTrainingPairs(records, { ...RS, noRelation: null }, 'label');
    assert.equal(s.counts.negatives, 0);
    assert.equal(s.counts.noAnswer, 2);
  });

  it('pair direction: a relation against the pair order does not answer the pair', () => {
    const s = selectTrainingPairs([records[1]!], RS, 'pair');
    assert.deepEqual(
      s.pairs.map((p) => p.label),
      [null],
    );
  });

  it('a fixed sample: the same seed gives the same pairs in file order', () => {
    const many = Array.from({ length: 50 }, (_, i) =>
      rec(`r${i}`, [{ head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'gold' }]),
    );
    const pairs = selectTrainingPairs(many, RS, 'label').pairs;
    const a = samplePairs(pairs, 10, 7).map((p) => p.record.id);
    assert.deepEqual(
      samplePairs(pairs, 10, 7).map((p) => p.record.id),
      a,
    );
    assert.notDeepEqual(
      samplePairs(pairs, 10, 8).map((p) => p.record.id),
      a,
    );
    assert.equal(new Set(a).size, 10);
    assert.deepEqual(
      [...a].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))),
      a,
    );
    assert.equal(samplePairs(pairs, undefined).length, 50);
  });

  it('cre-llm-short is the cre-llm prompt without the relation list', async () => {
    const space = answerSpace(RS, 'label');
    const chosen = selectTrainingPairs(records, RS, 'label').pairs;
    const prompts = async (template: typeof CRE_LLM_TEMPLATE) => {
      const out: string[] = [];
      for await (const e of renderTrainingExamples(chosen, {
        relationSet: RS,
        template,
        space,
        direction: 'label',
      }))
        out.push(JSON.stringify(e.prompt));
      return out;
    };
    const long = await prompts(CRE_LLM_TEMPLATE);
    const short = await prompts(CRE_LLM_SHORT_TEMPLATE);
    long.forEach((p, i) => {
      assert.ok(p.includes('Cause-Effect') && p.includes('Whole-Part'), p);
      assert.ok(!short[i]!.includes('Cause-Effect') && !short[i]!.includes('Whole-Part'), short[i]);
      assert.ok(short[i]!.length < p.length);
    });
  });

  for (const [template, codes] of [
    [DEFAULT_TEMPLATE, true],
    [RAG4RE_TEMPLATE, false],
    [CRE_LLM_SHORT_TEMPLATE, false],
  ] as const) {
    it(`the training prompt is the prompt extraction sends (${template.name}, ${codes ? 'codes' : 'names'})`, async () => {
      const space = answerSpace(RS, 'label');
      const chosen = selectTrainingPairs(records, RS, 'label').pairs;
      const rendered = [];
      for await (const e of renderTrainingExamples(chosen, {
        relationSet: RS,
        template,
        space,
        direction: 'label',
        answerCodes: codes,
      }))
        rendered.push(e);
      const engine = new ScriptedEngine(() => 'A');
      const inputs = chosen.map((p) => ({ ...p.record, relations: [] }));
      for await (const _ of runSentences(engine, inputs, {
        relationSet: RS,
        template,
        mode: 'generate',
        direction: 'label',
        answerCodes: codes,
        model: 'scripted',
      }));
      assert.equal(engine.prompts.length, rendered.length);
      rendered.forEach((e, i) => assert.deepEqual(e.prompt, engine.prompts[i], `prompt ${i}`));
      // the answers: the reversed Part-Whole is answered Whole-Part (names) or its code
      const human = rendered[1]!;
      const plain = codes ? human.answers.indexOf(human.answer) : -1;
      if (codes) assert.equal(space.answers[plain], 'Whole-Part');
      else assert.equal(human.answer, 'Whole-Part');
      assert.equal(human.answers[human.gold], human.answer);
      assert.equal(
        rendered[3]!.answer,
        codes ? human.answers[space.answers.indexOf('Other')] : 'Other',
      );
    });
  }
});

describe('held-out records for the before/after comparison', () => {
  const many = (n: number, relations: RelRecord['relations']) =>
    Array.from({ length: n }, (_, i) => rec(`r${i}`, relations));
  const gold: RelRecord['relations'] = [
    { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'gold' },
  ];

  it('settled: a relation a curator settled and nothing pending', () => {
    const settled = (rels: RelRecord['relations']) => isSettled(rec('x', rels));
    assert.equal(settled(gold), true);
    assert.equal(settled([{ head: 'e1', tail: 'e2', label: 'Part-Whole', source: 'human' }]), true);
    assert.equal(
      settled([
        { head: 'e1', tail: 'e2', label: 'Part-Whole', source: 'model', status: 'accepted' },
      ]),
      true,
    );
    assert.equal(settled([]), false, 'nothing settled');
    assert.equal(
      settled([...gold, { head: 'e2', tail: 'e1', label: 'Part-Whole', source: 'model' }]),
      false,
      'a prediction without a status is pending',
    );
    assert.equal(
      settled([
        { head: 'e1', tail: 'e2', label: 'Part-Whole', source: 'model', status: 'rejected' },
      ]),
      false,
      'only rejected: nothing settled',
    );
  });

  it('a fixed 10 % of the settled records (at least 4, at most 100), none below 20 settled', () => {
    assert.deepEqual(holdOutIds(many(19, gold)), [], 'too few to spare any');
    const pendingOnly = many(30, [
      { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'model', status: 'pending' },
    ]);
    assert.deepEqual(holdOutIds(pendingOnly), [], 'pending records are not settled');
    assert.equal(holdOutIds(many(20, gold)).length, 4, 'the minimum');
    assert.equal(holdOutIds(many(500, gold)).length, 50);
    assert.equal(holdOutIds(many(5000, gold)).length, 100, 'the maximum');
    assert.equal(holdOutIds(many(5000, gold), { max: 50 }).length, 50);
    const mixed = [...pendingOnly, ...many(60, gold).map((r) => ({ ...r, id: `g${r.id}` }))];
    const ids = holdOutIds(mixed);
    assert.equal(ids.length, 6);
    assert.ok(
      ids.every((id) => id.startsWith('g')),
      'only settled records',
    );
    assert.deepEqual(holdOutIds(mixed), ids, 'the same ids for the same file');
    assert.notDeepEqual(holdOutIds(mixed, { seed: 1 }), ids, 'another seed, another sample');
    const order = mixed.map((r) => r.id);
    assert.deepEqual(
      [...ids].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
      ids,
      'in file order',
    );
  });

  it('the reference is what the curator settled, as gold; the model input has no relations', () => {
    const [r] = curatedReference([
      rec('c', [
        { head: 'e1', tail: 'e2', label: 'Part-Whole', source: 'model', status: 'rejected' },
        { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'model', status: 'accepted' },
        { head: 'e2', tail: 'e1', label: 'Part-Whole', source: 'human' },
        { head: 'e2', tail: 'e1', label: 'Cause-Effect', source: 'model', status: 'pending' },
      ]),
    ]);
    assert.deepEqual(r!.relations, [
      { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'gold' },
      { head: 'e2', tail: 'e1', label: 'Part-Whole', source: 'gold' },
    ]);
    assert.deepEqual(withoutRelations([rec('d', gold)])[0]!.relations, []);
  });
});
