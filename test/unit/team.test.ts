/**
 * A team's curation round (issue 29, part 2): split a file among annotators with an overlap,
 * annotate, measure agreement, merge — through the CLI as a team would run it.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { curate } from '../../src/core/curation';
import { RelRecord } from '../../src/core/schema';
import { splitPlan, withAnnotator } from '../../src/core/team';
import { ROOT, cli, ensureBuilt, jsonl, tmp } from '../helpers/cli';

const SAMPLE_JSONL = path.join(ROOT, 'samples', 'semeval-sample.jsonl');
const read = (f: string): RelRecord[] =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RelRecord);

describe('team curation: split, annotate, agreement, merge', function () {
  this.timeout(60_000);
  before(() => ensureBuilt());

  it('splitPlan: the overlap goes to everyone, every other record to exactly one, parts even and in file order, the same for a seed', () => {
    const p = splitPlan(100, 3, 0.1, 7);
    assert.equal(p.shared.length, 10);
    const seen = new Map<number, number>();
    for (const part of p.parts) {
      assert.deepEqual(
        part,
        [...part].sort((a, b) => a - b),
      );
      for (const s of p.shared) assert.ok(part.includes(s));
      for (const i of part) seen.set(i, (seen.get(i) ?? 0) + 1);
    }
    for (let i = 0; i < 100; i++)
      assert.equal(seen.get(i), p.shared.includes(i) ? 3 : 1, `record ${i}`);
    assert.deepEqual(
      p.parts.map((x) => x.length),
      [40, 40, 40],
    );
    assert.deepEqual(splitPlan(100, 3, 0.1, 7), p);
    assert.notDeepEqual(splitPlan(100, 3, 0.1, 8).shared, p.shared);
    assert.throws(() => splitPlan(10, 1, 0.1), /two or more/);
    assert.throws(() => splitPlan(10, 2, 1.5), /not in \[0, 1\]/);
  });

  it('withAnnotator names the curator of human relations and set-aside records that do not say, and leaves the rest as it is', () => {
    const r = read(SAMPLE_JSONL)[0]!;
    assert.equal(withAnnotator(r, 'alice'), r, 'gold relations: nothing to name');
    const accepted = curate(
      { ...r, relations: [{ head: 'e1', tail: 'e2', label: 'Other', source: 'model' }] },
      0,
      { kind: 'accept' },
    );
    assert.equal(withAnnotator(accepted, 'alice').relations[0]!.meta?.['annotator'], 'alice');
    const bob = curate(accepted, 0, { kind: 'reject' }, 'bob');
    assert.equal(withAnnotator(bob, 'alice').relations[0]!.meta?.['annotator'], 'bob');
  });

  it('the CLI round: split keeps the input lines, agreement sees the one disagreement, merge names annotators, then takes the adjudicated record', () => {
    const dir = tmp();
    const parts = path.join(dir, 'parts');
    const s = cli(
      'split',
      SAMPLE_JSONL,
      '--annotators',
      'alice,bob',
      '--overlap',
      '0.5',
      '-o',
      parts,
      '--json',
    );
    assert.equal(s.code, 0, s.err);
    const summary = JSON.parse(s.out) as {
      records: number;
      shared: number;
      annotators: Record<string, number>;
    };
    assert.deepEqual(summary.annotators, { alice: 9, bob: 9 });
    assert.equal(summary.shared, 6);
    const input = readFileSync(SAMPLE_JSONL, 'utf8').split('\n').filter(Boolean);
    const aliceFile = path.join(parts, 'alice.jsonl');
    const bobFile = path.join(parts, 'bob.jsonl');
    for (const f of [aliceFile, bobFile]) {
      const lines = readFileSync(f, 'utf8').split('\n').filter(Boolean);
      for (const l of lines) assert.ok(input.includes(l), 'a line of the input, byte for byte');
    }
    // Run again: the annotators' files are not replaced without --force.
    const again = cli('split', SAMPLE_JSONL, '--annotators', 'alice,bob', '-o', parts);
    assert.equal(again.code, 1);
    assert.match(again.err, /alice\.jsonl.*(exists|--force)/);

    // Each annotator accepts the model's prediction on every record; on one shared record Alice relabels it.
    const annotate = (file: string, relabel?: string) =>
      writeFileSync(
        file,
        jsonl(
          read(file).map((r) => {
            if (!r.relations.length) return r;
            const withPred: RelRecord = {
              ...r,
              relations: r.relations.map((x) => ({ ...x, source: 'model' as const })),
            };
            return curate(
              withPred,
              0,
              r.id === relabel ? { kind: 'edit', label: 'Other' } : { kind: 'accept' },
            );
          }),
        ),
      );
    const shared = read(aliceFile)
      .map((r) => r.id)
      .filter((id) => read(bobFile).some((b) => b.id === id));
    const disputed = shared.find(
      (id) => read(aliceFile).find((r) => r.id === id)!.relations.length,
    )!;
    annotate(aliceFile, disputed);
    annotate(bobFile);

    const ag = cli('agreement', aliceFile, bobFile, '--json');
    assert.equal(ag.code, 0, ag.err);
    const report = JSON.parse(ag.out) as { records: number; disagreements: string[] };
    assert.equal(report.records, 6);
    assert.deepEqual(report.disagreements, [disputed]);

    const merged = path.join(dir, 'merged.jsonl');
    const m = cli('merge', aliceFile, bobFile, '--order', SAMPLE_JSONL, '-o', merged, '--json');
    assert.equal(m.code, 0, m.err);
    const ms = JSON.parse(m.out) as {
      records: number;
      single: number;
      agreed: number;
      disputed: string[];
    };
    assert.deepEqual([ms.records, ms.single, ms.agreed, ms.disputed], [12, 6, 5, [disputed]]);
    const out = read(merged);
    assert.deepEqual(
      out.map((r) => r.id),
      read(SAMPLE_JSONL).map((r) => r.id),
      'the order of the file that was split',
    );
    const onlyBob = read(bobFile).find((r) => !shared.includes(r.id) && r.relations.length)!;
    assert.equal(out.find((r) => r.id === onlyBob.id)!.relations[0]!.meta?.['annotator'], 'bob');
    const d = out.find((r) => r.id === disputed)!;
    assert.deepEqual(
      d.relations.map((x) => x.meta?.['annotator']).sort(),
      ['alice', 'bob'],
      "both annotators' relations side by side",
    );
    assert.ok(d.meta?.['agreement'], 'what each said, for the adjudicator');

    // The adjudicator keeps Bob's relation; merging again takes the settled record.
    const settled = path.join(dir, 'adjudicated.jsonl');
    writeFileSync(
      settled,
      jsonl([{ ...d, relations: d.relations.filter((x) => x.meta?.['annotator'] === 'bob') }]),
    );
    const final = path.join(dir, 'final.jsonl');
    const m2 = cli('merge', aliceFile, bobFile, '--adjudicated', settled, '-o', final, '--json');
    assert.equal(m2.code, 0, m2.err);
    assert.deepEqual((JSON.parse(m2.out) as { disputed: string[] }).disputed, []);
    assert.ok(existsSync(final));
    // merge never writes over one of its inputs.
    const over = cli('merge', aliceFile, bobFile, '-o', aliceFile, '--force');
    assert.equal(over.code, 1);
  });
});
