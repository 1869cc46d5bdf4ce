/**
 * Fault injection (issue 10): the CLI is killed with SIGKILL at random points of extract and
 * extract-doc and resumed; runs into a full disk (a small tmpfs, where the machine allows the
 * mount), into read-only outputs, and two runs on one output at once; Ctrl-C with a real model.
 * After every fault: the output is valid JSONL, every input id is in it exactly once once the run
 * completes, and curated lines are byte-identical.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, rmSync } from 'node:fs';
import * as path from 'node:path';
import { RelRecord } from '../../src/core/schema';
import { lockPath } from '../../src/node/output';
import { SAMPLE, cli, cliAsync, knnArgs as knnArgsOf, knnScratch } from '../helpers/cli';
import { smolLM2 } from '../helpers/models';
import { mulberry32 } from '../helpers/perturb';
import { dataset, requireShared } from '../helpers/shared';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lineCount(file: string): Promise<number> {
  const b = await fs.readFile(file).catch(() => Buffer.alloc(0));
  let n = 0;
  for (const c of b) if (c === 10) n++;
  return n;
}

/** Every line is a complete JSON record; returns the ids in order. */
async function idsOf(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends with a complete line`);
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return (JSON.parse(l) as RelRecord).id;
      } catch {
        assert.fail(`${file}:${i + 1} is not valid JSON: ${l.slice(0, 80)}`);
      }
    });
}

/** Starts a run and SIGKILLs it once the output has `afterLines` lines (0: right after start). */
async function killAt(
  args: string[],
  out: string,
  afterLines: number,
  maxMs = 300_000,
): Promise<void> {
  const { child, done } = cliAsync(...args);
  const t0 = Date.now();
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished && Date.now() - t0 < maxMs) {
    if (afterLines === 0 ? existsSync(lockPath(out)) : (await lineCount(out)) >= afterLines) break;
    await sleep(5);
  }
  child.kill('SIGKILL');
  await done;
}

function mount(args: string[]): boolean {
  return spawnSync('mount', args, { encoding: 'utf8' }).status === 0;
}

describe('faults: kill -9, disk full, read-only outputs, concurrent runs, Ctrl-C', function () {
  this.timeout(900_000);
  let dir: string;
  let index: string;
  const test = dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT');
  const knnArgs = (input: string, out: string, ...more: string[]) =>
    knnArgsOf(index, input, out, ...more);

  before(() => ({ dir, index } = knnScratch('rl-faults-')));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('extract: SIGKILL at random points, curation in between, resume — every id once, curated lines untouched', async function () {
    requireShared(this, test);
    const out = path.join(dir, 'killed.jsonl');
    const rnd = mulberry32(20261129);
    const total = 2717;
    const curated: string[] = [];
    for (const stop of [0, ...[0, 1, 2, 3].map(() => 1 + Math.floor(rnd() * total * 0.9))].sort(
      (a, b) => a - b,
    )) {
      await killAt(knnArgs(test, out), out, stop);
      const ids = existsSync(out) ? await idsOf(out) : [];
      assert.equal(new Set(ids).size, ids.length, 'no id twice');
      if (ids.length) {
        // Curate the last complete line: accept its prediction (what a curator does between runs).
        const text = await fs.readFile(out, 'utf8');
        const lines = text.trimEnd().split('\n');
        const r = JSON.parse(lines[lines.length - 1]!) as RelRecord;
        r.meta = { ...(r.meta ?? {}), curatedBy: 'fault-test' };
        lines[lines.length - 1] = JSON.stringify(r);
        curated.push(lines[lines.length - 1]!);
        await fs.writeFile(out, lines.join('\n') + '\n');
      }
    }
    const r = cli(...knnArgs(test, out));
    assert.equal(r.code, 0, r.err);
    const ids = await idsOf(out);
    assert.equal(ids.length, total);
    assert.equal(new Set(ids).size, total);
    const final = (await fs.readFile(out, 'utf8')).split('\n');
    for (const c of curated) assert.ok(final.includes(c), 'a curated line is byte-identical');
    assert.ok(!existsSync(lockPath(out)), 'no lock left after a complete run');
  });

  it('extract-doc: SIGKILL at random documents, resume — every document once, valid JSONL, report and submission', async function () {
    const model = smolLM2(this);
    const relInfo = dataset('redocred', 'rel_info.json');
    requireShared(this, relInfo);
    // Twelve short documents: the sample's sentences with their two entities and no fixed pairs.
    const docs = path.join(dir, 'docs.jsonl');
    const imported = path.join(dir, 'sample.jsonl');
    assert.equal(cli('import', SAMPLE, '-o', imported).code, 0);
    const recs = (await fs.readFile(imported, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => {
        const r = JSON.parse(l) as RelRecord;
        delete r.pairs;
        r.relations = [];
        return JSON.stringify(r);
      });
    await fs.writeFile(docs, recs.join('\n') + '\n');
    const out = path.join(dir, 'doc-killed.jsonl');
    const args = [
      'extract-doc',
      docs,
      '--model',
      model,
      '--rel-info',
      relInfo,
      '--threads',
      '2',
      '-o',
      out,
    ];
    const rnd = mulberry32(7);
    for (const stop of [1 + Math.floor(rnd() * 5), 6 + Math.floor(rnd() * 5)]) {
      await killAt(args, out, stop);
      const ids = await idsOf(out);
      assert.equal(new Set(ids).size, ids.length);
    }
    const r = cli(...args);
    assert.equal(r.code, 0, r.err);
    const ids = await idsOf(out);
    assert.deepEqual([...ids].sort(), recs.map((l) => (JSON.parse(l) as RelRecord).id).sort());
    assert.ok(existsSync(out.replace(/\.jsonl$/, '.report.json')));
    assert.ok(
      Array.isArray(
        JSON.parse(await fs.readFile(out.replace(/\.jsonl$/, '.submission.json'), 'utf8')),
      ),
    );
  });

  it('disk full (a 256 KiB tmpfs): extract stops with a clear error, the output ends with a complete record; resume finishes once there is room', async function () {
    requireShared(this, test);
    const mnt = path.join(dir, 'small');
    await fs.mkdir(mnt);
    if (!mount(['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt])) {
      console.log(
        '    SKIP: cannot mount a small tmpfs here (needs root); the disk-full write path is not exercised',
      );
      return this.skip();
    }
    try {
      const out = path.join(mnt, 'full.jsonl');
      let r = cli(...knnArgs(test, out));
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        /full\.jsonl: cannot write: the disk is full; the output ends with its last complete record/,
      );
      const before = await idsOf(out);
      assert.ok(before.length > 0 && before.length < 2717);
      assert.ok(!existsSync(lockPath(out)), 'the lock is released');
      assert.ok(mount(['-o', 'remount,size=8m', mnt]));
      r = cli(...knnArgs(test, out));
      assert.equal(r.code, 0, r.err);
      const ids = await idsOf(out);
      assert.equal(new Set(ids).size, 2717);
      assert.deepEqual(ids.slice(0, before.length), before);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('read-only outputs: refused before any work, the file unchanged', async function () {
    const out = path.join(dir, 'ro', 'p.jsonl');
    await fs.mkdir(path.dirname(out));
    assert.equal(cli(...knnArgs(SAMPLE, out, '--limit', '3')).code, 0);
    const before = await fs.readFile(out);
    const root = process.getuid?.() === 0;
    if (root) {
      if (
        !mount(['--bind', '-o', 'ro', path.dirname(out), path.dirname(out)]) &&
        !mount(['-o', 'remount,bind,ro', path.dirname(out)])
      ) {
        console.log(
          '    SKIP: running as root without a read-only bind mount; permissions do not apply to root',
        );
        return this.skip();
      }
      // Some kernels need a remount to make the bind read-only.
      mount(['-o', 'remount,bind,ro', path.dirname(out)]);
    } else await fs.chmod(out, 0o444);
    try {
      const r = cli(...knnArgs(SAMPLE, out, '--model', path.join(dir, 'no-such-model.gguf')));
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        /p\.jsonl: (the output file is not writable|cannot create the lock file)/,
      );
      assert.ok((await fs.readFile(out)).equals(before));
    } finally {
      if (root) spawnSync('umount', [path.dirname(out)]);
      else await fs.chmod(out, 0o644);
    }
  });

  it('two runs on one output at once: the second refuses naming the first; each id once', async function () {
    requireShared(this, test);
    const out = path.join(dir, 'concurrent.jsonl');
    const a = cliAsync(...knnArgs(test, out));
    while (!existsSync(lockPath(out))) await sleep(5);
    const b = cli(...knnArgs(test, out));
    assert.equal(b.code, 1);
    assert.match(b.err, new RegExp(`another run is writing this file \\(pid ${a.child.pid}, `));
    const ra = await a.done;
    assert.equal(ra.code, 0, ra.err);
    const ids = await idsOf(out);
    assert.equal(ids.length, 2717);
    assert.equal(new Set(ids).size, 2717);
  });

  for (const kind of ['extract', 'extract-doc'] as const)
    it(`${kind}: Ctrl-C with a real model stops gracefully (exit 130, complete records kept) and the same command resumes`, async function () {
      const model = smolLM2(this);
      const out = path.join(dir, `sigint-${kind}.jsonl`);
      const args =
        kind === 'extract'
          ? ['extract', SAMPLE, '--model', model, '--threads', '2', '-o', out]
          : [
              'extract-doc',
              path.join(dir, 'docs.jsonl'),
              '--model',
              model,
              '--rel-info',
              dataset('redocred', 'rel_info.json'),
              '--threads',
              '2',
              '-o',
              out,
            ];
      if (kind === 'extract-doc' && !existsSync(args[1]!)) {
        console.log('    SKIP: needs the documents of the extract-doc fault test');
        return this.skip();
      }
      const { child, done } = cliAsync(...args);
      while ((await lineCount(out)) < 1) {
        if (child.exitCode !== null) break;
        await sleep(20);
      }
      child.kill('SIGINT');
      const r = await done;
      assert.equal(
        r.signal,
        null,
        `the process was not killed by the signal (stderr: ${r.err.slice(-300)})`,
      );
      assert.equal(r.code, 130, r.err);
      assert.match(r.err, /interrupted: \d+ (record|document)\(s\) written/);
      const kept = await idsOf(out);
      assert.ok(kept.length >= 1);
      const again = cli(...args);
      assert.equal(again.code, 0, again.err);
      const ids = await idsOf(out);
      assert.equal(ids.length, 12);
      assert.equal(new Set(ids).size, 12);
      assert.deepEqual(ids.slice(0, kept.length), kept);
    });
});
