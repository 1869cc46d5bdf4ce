/**
 * Reproducible predictions (issue 15): `--deterministic` gives the same labels and scores on every
 * run, and every run appends what determines its result to OUT.runs.jsonl.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RelRecord } from '../../src/core/schema';
import { SAMPLE, cli, ensureBuilt } from '../helpers/cli';
import { smolLM2 } from '../helpers/models';

describe('reproducible predictions (real model)', function () {
  // Two runs of six sentences; about 20 s each on an idle 2-core machine, far more under load.
  this.timeout(900_000);
  let dir: string;
  before(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'rl-repro-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--deterministic: two runs give the same labels, scores and top-3; each run is recorded with hashes and versions', async function () {
    const model = smolLM2(this);
    const outs = ['a.jsonl', 'b.jsonl'].map((f) => path.join(dir, f));
    for (const out of outs) {
      const r = cli(
        'extract',
        SAMPLE,
        '--model',
        model,
        '--deterministic',
        '--limit',
        '6',
        '--threads',
        '2',
        '-o',
        out,
      );
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /1 sequence\(s\) × \d+ tokens \(deterministic\)/);
    }
    const view = async (f: string) =>
      (await fs.readFile(f, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RelRecord)
        .map((r) => [
          r.id,
          r.relations
            .filter((x) => x.source === 'model')
            .map((x) => [x.head, x.tail, x.label, x.score, x.meta?.['top']]),
          r.meta?.['extraction'],
        ]);
    const [a, b] = await Promise.all(outs.map(view));
    assert.equal(a!.length, 6);
    assert.deepEqual(b, a);

    const runs = (await fs.readFile(outs[0]!.replace(/\.jsonl$/, '.runs.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(runs.length, 1);
    const run = runs[0];
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.records, { written: 6, resumed: 0 });
    assert.equal(run.model.sha256, createHash('sha256').update(readFileSync(model)).digest('hex'));
    assert.equal(run.input.sha256, createHash('sha256').update(readFileSync(SAMPLE)).digest('hex'));
    assert.equal(run.settings.deterministic, true);
    assert.equal(run.engine.parallel, 1);
    assert.match(run.engine.nodeLlamaCpp, /^\d+\.\d+\.\d+/);
    assert.ok(run.engine.llamaCpp.length > 0);
    assert.match(run.template.sha256, /^[0-9a-f]{64}$/);
    assert.match(run.relationSet.sha256, /^[0-9a-f]{64}$/);
  });

  it('threads: adaptive by default (fewer while other processes keep cores busy), fixed for --deterministic; the run record says which', async function () {
    const model = smolLM2(this);
    const policy = async (...flags: string[]) => {
      const out = path.join(dir, `policy${flags.join('')}.jsonl`);
      const r = cli('extract', SAMPLE, '--model', model, '--limit', '2', ...flags, '-o', out);
      assert.equal(r.code, 0, r.err);
      const run = JSON.parse(
        (await fs.readFile(out.replace(/\.jsonl$/, '.runs.jsonl'), 'utf8')).trim(),
      );
      return { err: r.err, policy: run.engine.threadPolicy as string };
    };
    const adaptive = await policy();
    assert.equal(adaptive.policy, 'adaptive');
    assert.match(adaptive.err, /up to \d+ thread\(s\) \(adaptive\)/);
    const fixed = await policy('--deterministic');
    assert.equal(fixed.policy, 'fixed');
    assert.match(fixed.err, /engine: \w+, \d+ thread\(s\), 1 sequence/);
  });
});
