/** The CLI as a user runs it: the bundled dist/cli.js in a child process. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dataset, requireShared } from '../helpers/shared';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SAMPLE = path.join(ROOT, 'samples', 'semeval-sample.txt');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('CLI (dist/cli.js)', () => {
  let dir: string;
  before(function () {
    if (!existsSync(CLI)) {
      const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      assert.equal(b.status, 0, b.stderr);
    }
    dir = mkdtempSync(path.join(tmpdir(), 'rl-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('import → export → eval on the bundled SemEval sample', async () => {
    const jsonl = path.join(dir, 'sample.jsonl');
    const answers = path.join(dir, 'answers.txt');
    let r = run('import', '--format', 'semeval', SAMPLE, '-o', jsonl);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /wrote 12 record/);
    r = run('export', '--format', 'semeval', jsonl, '-o', answers);
    assert.equal(r.code, 0, r.err);
    r = run('eval', '--metric', 'semeval', '--gold', SAMPLE, '--pred', answers, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.f1, 1);
    r = run(
      'eval',
      '--metric',
      'semeval',
      '--gold',
      SAMPLE,
      '--pred',
      path.join(ROOT, 'samples', 'semeval-sample-predictions.txt'),
      '--json',
    );
    const k = JSON.parse(r.out);
    assert.ok(k.f1 > 0 && k.f1 < 1);
    for (const key of ['precision', 'recall', 'f1', 'per_relation', 'confusion'])
      assert.ok(key in k, key);
    for (const v of [k.precision, k.recall, k.f1]) assert.ok(v >= 0 && v <= 1);
  });

  it('prints a readable table without --json', () => {
    const r = run(
      'eval',
      '--metric',
      'semeval',
      '--gold',
      SAMPLE,
      '--pred',
      path.join(ROOT, 'samples', 'semeval-sample-predictions.txt'),
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /metric: semeval/);
    assert.match(r.out, /Cause-Effect/);
  });

  it('exit codes: 1 for a missing file, 2 for bad usage, 3 when records were skipped', async () => {
    let r = run('import', path.join(dir, 'missing.txt'), '-o', path.join(dir, 'x.jsonl'));
    assert.equal(r.code, 1);
    assert.match(r.err, /missing\.txt: file not found/);
    r = run('eval', '--metric', 'bogus', '--gold', SAMPLE, '--pred', SAMPLE);
    assert.equal(r.code, 2);
    const bad = path.join(dir, 'bad.jsonl');
    await fs.writeFile(bad, '{"id":"a","text":"ab","entities":[],"relations":[]}\n{broken\n');
    r = run('import', bad, '-o', path.join(dir, 'ok.jsonl'));
    assert.equal(r.code, 3);
    assert.match(r.err, /bad\.jsonl:2:\d+: error: invalid JSON/);
    assert.equal(
      (await fs.readFile(path.join(dir, 'ok.jsonl'), 'utf8')).split('\n').length,
      2,
      'the valid record was written',
    );
  });

  it('exports SFT sets rendered with a template file', async () => {
    const tpl = path.join(dir, 't.txt');
    await fs.writeFile(
      tpl,
      '### instruction\nLabels: {{relation_names}}\n### input\n{{sentence}} | {{head}} | {{tail}}\n### output\n{{label}}\n',
    );
    const out = path.join(dir, 'sft.jsonl');
    const r = run('export', '--format', 'sft-chat', SAMPLE, '--template', tpl, '-o', out);
    assert.equal(r.code, 0, r.err);
    const lines = (await fs.readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 12);
    assert.deepEqual(
      lines[0].messages.map((m: { role: string }) => m.role),
      ['user', 'assistant'],
    );
    assert.match(lines[0].messages[0].content, /^Labels: Cause-Effect, Component-Whole/);
  });

  it('scores Re-DocRED natively: DocRED gold + submission JSON + training file', async function () {
    const dev = dataset('redocred', 'dev_revised.json');
    const relInfo = dataset('redocred', 'rel_info.json');
    requireShared(this, dev, relInfo);
    const jsonl = path.join(dir, 'dev.jsonl');
    const sub = path.join(dir, 'sub.json');
    assert.equal(
      run('import', '--format', 'docred', dev, '--rel-info', relInfo, '-o', jsonl).code,
      0,
    );
    let r = run('export', '--format', 'docred', jsonl, '--rel-info', relInfo, '-o', sub);
    assert.equal(r.code, 0, r.err);
    r = run('eval', '--metric', 'docred', '--gold', dev, '--pred', sub, '--train', dev, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.f1, 1);
    assert.ok(j.ign_f1 < 0.001, 'every fact is "in train" when train = gold');
    // canonical JSONL predictions score the same as the submission
    r = run(
      'eval',
      '--metric',
      'docred',
      '--gold',
      dev,
      '--pred',
      jsonl,
      '--rel-info',
      relInfo,
      '--json',
    );
    assert.equal(JSON.parse(r.out).f1, 1);
  });
});
