/**
 * "Not sure, skip" (issue 29, part 1): a relation's `ignored` status and a record's
 * `meta.ignored` — set by curation, shown by the record view, left out of training (counted),
 * evaluation (CLI and editor) and exports.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { curate, ignoreRecord } from '../../src/core/curation';
import { recordView } from '../../src/core/editor/recordView';
import { dropIgnored, evaluateRecords } from '../../src/core/eval';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { RelRecord, validateRecord } from '../../src/core/schema';
import { selectTrainingPairs } from '../../src/core/training/trainingSet';
import { cli, ensureBuilt, jsonl, sampleRecords, tmp } from '../helpers/cli';

const sample = sampleRecords;

describe('ignore: "not sure, skip"', function () {
  this.timeout(60_000);

  it("curation sets a relation ignored (the curator's, valid) and a record aside, and takes the record back", () => {
    const r = sample()[0]!;
    const withPred: RelRecord = {
      ...r,
      relations: [
        ...r.relations,
        { head: 'e1', tail: 'e2', label: 'Entity-Origin', source: 'model', status: 'pending' },
      ],
    };
    const i = curate(withPred, 1, { kind: 'ignore' });
    assert.equal(i.relations[1]!.status, 'ignored');
    assert.equal(i.relations[1]!.source, 'human');
    assert.ok(validateRecord(i).ok);
    const v = recordView(i, 'Other');
    assert.equal(v.pending, 0);
    assert.ok(v.triples.some((t) => t.decision === 'ignored'));
    const aside = ignoreRecord(withPred, true);
    assert.equal(aside.meta?.['ignored'], true);
    assert.ok(validateRecord(aside).ok);
    const av = recordView(aside, 'Other');
    assert.ok(av.ignored && av.reviewed, 'an ignored record counts as decided');
    const back = ignoreRecord(aside, false);
    assert.deepEqual(back, withPred, 'taken back: the record as it was');
  });

  it('training leaves ignored pairs and records out and counts them', () => {
    const recs = sample();
    const base = selectTrainingPairs(recs, SEMEVAL_RELATIONS, 'label');
    recs[0] = curate(recs[0]!, 0, { kind: 'ignore' });
    recs[1] = ignoreRecord(recs[1]!, true);
    const c = selectTrainingPairs(recs, SEMEVAL_RELATIONS, 'label');
    assert.equal(c.counts.ignored, 2);
    assert.equal(c.pairs.length, base.pairs.length - 2);
    assert.ok(!c.pairs.some((p) => p.record.id === 'semeval-1' || p.record.id === 'semeval-2'));
  });

  it('evaluation leaves them out on both sides (editor and CLI, micro and official SemEval)', async () => {
    ensureBuilt();
    const gold = sample();
    const pred = sample().map((r) => ({
      ...r,
      relations: r.relations.map((x) => ({ ...x, source: 'model' as const })),
    }));
    // Two predictions wrong; the curator set those two sentences aside in the gold file.
    pred[0]!.relations[0]!.label = 'Entity-Origin';
    pred[1]!.relations[0]!.label = 'Entity-Origin';
    const curated = gold.slice();
    curated[0] = curate(curated[0]!, 0, { kind: 'ignore' });
    curated[1] = ignoreRecord(curated[1]!, true);
    const kept = dropIgnored(curated, pred);
    assert.deepEqual(
      [kept.records, kept.pairs, kept.gold.length, kept.pred.length],
      [2, 0, 10, 10],
    );
    for (const metric of ['micro', 'semeval'] as const) {
      assert.ok(evaluateRecords(gold, pred, SEMEVAL_RELATIONS, metric).f1 < 1);
      assert.equal(evaluateRecords(curated, pred, SEMEVAL_RELATIONS, metric).f1, 1, metric);
    }
    const dir = tmp('rl-ignore-');
    const g = path.join(dir, 'gold.jsonl');
    const p = path.join(dir, 'pred.jsonl');
    writeFileSync(g, jsonl(curated));
    writeFileSync(p, jsonl(pred));
    for (const metric of ['micro', 'semeval']) {
      const r = cli('eval', '--metric', metric, '--gold', g, '--pred', p, '--json');
      assert.equal(r.code, 0, r.err);
      assert.equal((JSON.parse(r.out) as { f1: number }).f1, 1, metric);
      assert.match(r.err, /ignored by a curator/);
    }
  });

  it('exports leave ignored relations out', () => {
    ensureBuilt();
    const recs = sample();
    recs[0] = curate(recs[0]!, 0, { kind: 'ignore' });
    const dir = tmp('rl-ignore-x-');
    const f = path.join(dir, 'in.jsonl');
    writeFileSync(f, jsonl(recs));
    const out = path.join(dir, 'out.txt');
    const r = cli('export', '--format', 'semeval-txt', f, '-o', out);
    assert.equal(r.code, 0, r.err);
    const lines = readFileSync(out, 'utf8').split(/\r?\n/);
    assert.equal(lines[1], 'Other', 'the ignored relation is not exported as gold');
    assert.equal(lines[5], 'Component-Whole(e1,e2)');
  });
});
