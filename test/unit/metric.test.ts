/** One metric choice for every entry point (issue 11): the editor's two evaluation buttons and the panel agree. */
import { strict as assert } from 'node:assert';
import { chooseMetric, evaluateRecords } from '../../src/core/eval';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { relationSetFromRelInfo } from '../../src/core/formats/docred';
import { RelRecord } from '../../src/core/schema';

const sentence = (id: string, label?: string): RelRecord => ({
  id,
  text: 'The a and the b.',
  entities: [
    { id: 'e1', name: 'a', type: null, mentions: [{ start: 4, end: 5 }] },
    { id: 'e2', name: 'b', type: null, mentions: [{ start: 14, end: 15 }] },
  ],
  relations: label ? [{ head: 'e1', tail: 'e2', label, source: 'gold' }] : [],
  pairs: [['e1', 'e2']],
  meta: { semevalId: id.replace(/\D/g, '') },
});

describe('metric choice', () => {
  it('SemEval set → official SemEval score; DocRED ids on documents → DocRED; otherwise micro; an override wins', () => {
    assert.equal(chooseMetric(SEMEVAL_RELATIONS, [sentence('s1')]), 'semeval');
    const docred = relationSetFromRelInfo({ P17: 'country' });
    const doc: RelRecord = {
      ...sentence('d1'),
      pairs: undefined,
      sentences: [{ start: 0, end: 16 }],
    };
    delete doc.pairs;
    assert.equal(chooseMetric(docred, [doc]), 'docred');
    assert.equal(chooseMetric(docred, [sentence('s1')]), 'micro');
    assert.equal(
      chooseMetric(
        { name: 'finre', noRelation: 'unknown', directed: true, labels: [{ name: 'x' }] },
        [sentence('s1')],
      ),
      'micro',
    );
    assert.equal(chooseMetric(SEMEVAL_RELATIONS, [sentence('s1')], 'micro'), 'micro');
  });

  it('evaluateRecords gives the official SemEval score for SemEval records (not micro)', () => {
    const gold = [sentence('s1', 'Cause-Effect'), sentence('s2', 'Component-Whole')];
    const pred = [sentence('s1', 'Cause-Effect'), sentence('s2', 'Cause-Effect')];
    const official = evaluateRecords(gold, pred, SEMEVAL_RELATIONS, 'semeval');
    const micro = evaluateRecords(gold, pred, SEMEVAL_RELATIONS, 'micro');
    assert.equal(official.metric, 'semeval');
    assert.equal(micro.metric, 'micro');
    assert.notEqual(official.f1, micro.f1, 'macro over relations differs from micro here');
  });
});
