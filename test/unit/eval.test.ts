import { strict as assert } from 'node:assert';
import {
  docGoldOf,
  evaluateDocRed,
  evaluateMicro,
  evaluateSemEval,
  parseAnswers,
  scoreDocRed,
  semevalAnswers,
  trainFacts,
} from '../../src/core/eval';
import { loadRecords } from '../../src/node/load';
import { perturbDocRed, perturbSemEval } from '../helpers/perturb';
import { pairRecord } from '../helpers/records';
import { dataset, requireShared } from '../helpers/shared';

const close = (a: number, b: number, eps = 1e-9) =>
  assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe('evaluation', () => {
  describe('micro (TACRED scorer semantics)', () => {
    it('hand-computed: P = R = F1 = 1/3, per-relation and confusion', () => {
      const gold = [
        pairRecord('1', 'A'),
        pairRecord('2', 'B'),
        pairRecord('3', null),
        pairRecord('4', 'A'),
      ];
      const pred = [
        pairRecord('1', 'A'),
        pairRecord('2', null),
        pairRecord('3', 'B'),
        pairRecord('4', 'B'),
      ];
      const r = evaluateMicro(gold, pred);
      close(r.precision, 1 / 3);
      close(r.recall, 1 / 3);
      close(r.f1, 1 / 3);
      assert.deepEqual(r.per_relation['A'], {
        precision: 1,
        recall: 0.5,
        f1: 2 / 3,
        correct: 1,
        predicted: 1,
        gold: 2,
      });
      assert.deepEqual(r.per_relation['B'], {
        precision: 0,
        recall: 0,
        f1: 0,
        correct: 0,
        predicted: 2,
        gold: 1,
      });
      assert.deepEqual(r.confusion.labels, ['A', 'B', 'no_relation']);
      // rows gold, columns predicted
      assert.deepEqual(r.confusion.matrix, [
        [1, 1, 0],
        [0, 0, 1],
        [0, 1, 0],
      ]);
    });
    it('precision is 1 when nothing is predicted (as the TACRED scorer), recall 0', () => {
      const r = evaluateMicro([pairRecord('1', 'A')], [pairRecord('1', null)]);
      assert.equal(r.precision, 1);
      assert.equal(r.recall, 0);
      assert.equal(r.f1, 0);
    });
    it('direction matters: a reversed relation is a different decision', () => {
      const r = evaluateMicro([pairRecord('1', 'A', 'e1')], [pairRecord('1', 'A', 'e2')]);
      assert.equal(r.counts['correct'], 0);
      assert.ok(r.per_relation['A(e2,e1)']);
    });
    it('missing and unknown predictions are counted and reported', () => {
      const r = evaluateMicro(
        [pairRecord('1', 'A'), pairRecord('2', 'A')],
        [pairRecord('1', 'A'), pairRecord('9', 'A')],
      );
      close(r.precision, 0.5);
      close(r.recall, 0.5);
      assert.equal(r.warnings.length, 2);
    });
  });

  describe('SemEval-2010 Task 8 official score', () => {
    const key = new Map([
      ['1', 'Cause-Effect(e1,e2)'],
      ['2', 'Cause-Effect(e2,e1)'],
      ['3', 'Component-Whole(e1,e2)'],
      ['4', 'Other'],
      ['5', 'Cause-Effect(e1,e2)'],
    ]);
    it('hand-computed, with a wrong-direction prediction and a skipped id', () => {
      const proposed = new Map([
        ['1', 'Cause-Effect(e1,e2)'], // correct
        ['2', 'Cause-Effect(e1,e2)'], // right relation, wrong direction
        ['3', 'Cause-Effect(e1,e2)'], // wrong relation
        ['4', 'Component-Whole(e2,e1)'], // Other predicted as a relation
      ]); // 5 skipped
      const r = evaluateSemEval(key, proposed);
      // Cause-Effect: correct 1; proposed with the right direction or a wrong relation 2, plus 1 wrong direction → P = 1/3; R = 1/3.
      // Component-Whole: proposed 1, correct 0 → P = R = F1 = 0. Macro over the 2 relations of the key.
      close(r.per_relation['Cause-Effect']!.precision, 1 / 3);
      close(r.per_relation['Cause-Effect']!.recall, 1 / 3);
      close(r.f1, 1 / 6);
      close(r.precision, 1 / 6);
      assert.equal(r.counts['wrong_direction'], 1);
      assert.equal(r.counts['skipped'], 1);
    });
    it('a relation never predicted has precision 0 even if predicted with the wrong direction', () => {
      const r = evaluateSemEval(
        new Map([['1', 'Cause-Effect(e1,e2)']]),
        new Map([['1', 'Cause-Effect(e2,e1)']]),
      );
      assert.equal(r.per_relation['Cause-Effect']!.precision, 0);
      assert.equal(r.f1, 0);
    });
    it('perfect answers score 1', () => {
      assert.equal(evaluateSemEval(key, key).f1, 1);
    });
    it('rejects ids that are not in the key, repeated ids and unknown labels, like the perl scorer', () => {
      assert.throws(() => evaluateSemEval(key, new Map([['77', 'Other']])), /bad ID: '77'/);
      assert.throws(
        () => parseAnswers('1\tOther\n1\tOther\n', 'p.txt'),
        /p\.txt:2: id 1 is already defined/,
      );
      assert.throws(
        () => parseAnswers('1\tOther\n2\tCause-Effect\n', 'p.txt'),
        /p\.txt:2: unknown SemEval label/,
      );
    });
    it('equals the official perl scorer on the real test key (three generated system outputs)', async function () {
      const file = dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT');
      requireShared(this, file);
      const gold = semevalAnswers((await loadRecords(file)).records);
      // Official scores printed by semeval2010_task8_scorer-v1.2.pl (its official-score path, run
      // locally with perl) for the same generated outputs: macro P, R, F1 in percent.
      const perl: Array<[number, number, number, number, number]> = [
        [1, 0.05, 74.237978539, 67.0303284158, 70.3771617246],
        [2, 0, 75.5976485994, 72.9356413323, 74.2238433038],
        [3, 0.3, 62.8739084088, 41.4139505385, 49.8816050865],
      ];
      for (const [seed, skip, p, rr, f] of perl) {
        const r = evaluateSemEval(gold, perturbSemEval(gold, seed, skip));
        close(100 * r.precision, p, 1e-8);
        close(100 * r.recall, rr, 1e-8);
        close(100 * r.f1, f, 1e-8);
      }
    });
  });

  describe('DocRED / Re-DocRED official F1 and Ign F1', () => {
    const gold = [
      {
        title: 'D',
        entityNames: [['Paris'], ['France', 'FR'], ['Seine']],
        facts: [
          { h: 0, t: 1, r: 'P17', evidence: [0] },
          { h: 2, t: 1, r: 'P17', evidence: [1] },
        ],
      },
    ];
    const preds = [
      { title: 'D', h_idx: 0, t_idx: 1, r: 'P17', evidence: [0] },
      { title: 'D', h_idx: 0, t_idx: 1, r: 'P17' }, // duplicate
      { title: 'D', h_idx: 2, t_idx: 1, r: 'P131' }, // wrong relation
      { title: 'X', h_idx: 0, t_idx: 1, r: 'P17' }, // unknown title: stays in the precision denominator
    ];
    it('hand-computed: distinct predictions, unknown titles in the denominator', () => {
      const r = scoreDocRed(gold, preds);
      close(r.precision, 1 / 3);
      close(r.recall, 1 / 2);
      close(r.f1, 0.4);
      close(r.counts['evidence_precision']!, 1);
      close(r.counts['evidence_recall']!, 0.5);
      assert.equal(r.ign_f1, undefined);
      assert.equal(r.warnings.length, 1);
    });
    it('Ign F1 leaves out correct facts whose mention names and relation are in the training file', () => {
      const inTrain = trainFacts([
        {
          title: 'T',
          entityNames: [['Paris'], ['FR']],
          facts: [{ h: 0, t: 1, r: 'P17', evidence: [] }],
        },
      ]);
      const r = scoreDocRed(gold, preds, inTrain);
      assert.equal(r.counts['correct_in_train'], 1);
      close(r.ign_f1!, 0);
      const notInTrain = trainFacts([
        {
          title: 'T',
          entityNames: [['Paris'], ['Germany']],
          facts: [{ h: 0, t: 1, r: 'P17', evidence: [] }],
        },
      ]);
      const r2 = scoreDocRed(gold, preds, notInTrain);
      const ignP = 1 / (3 + 1e-5);
      close(r2.ign_f1!, (2 * ignP * 0.5) / (ignP + 0.5));
    });
    it('equals the official evaluation on Re-DocRED dev (train = test split, two generated submissions)', async function () {
      const dev = dataset('redocred', 'dev_revised.json');
      const test = dataset('redocred', 'test_revised.json');
      requireShared(this, dev, test);
      const g = docGoldOf((await loadRecords(dev)).records);
      const t = docGoldOf((await loadRecords(test)).records);
      const rels = [...new Set(g.flatMap((d) => d.facts.map((f) => f.r)))].sort();
      // Printed by DocRED's official_evaluate (run locally with python) for the same submissions:
      // F1, evidence F1, Ign F1, P, R.
      const official: Array<[number, number[]]> = [
        [1, [0.7425845022, 0.7004860554, 0.736796317, 0.737834133, 0.747396436]],
        [2, [0.7435838549, 0.7010367578, 0.7378409497, 0.7379487179, 0.7493057163]],
      ];
      for (const [seed, [f1, evi, ign, p, rr]] of official) {
        const sub = perturbDocRed(
          g.map((d) => ({ title: d.title, n: d.entityNames.length, facts: d.facts })),
          rels,
          seed,
        );
        const r = evaluateDocRed(g, sub, t);
        close(r.f1, f1!, 1e-9);
        close(r.counts['evidence_f1']!, evi!, 1e-9);
        close(r.ign_f1!, ign!, 1e-9);
        close(r.precision, p!, 1e-9);
        close(r.recall, rr!, 1e-9);
      }
    });
  });
});
