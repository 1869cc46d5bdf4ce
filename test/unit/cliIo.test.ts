/**
 * One CLI vocabulary (issue 27): `-` is standard input and output where a command writes one
 * piece; --json prints a command's result as one object; renamed flags keep their old names as
 * hidden aliases that say what they are called now.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLI, ROOT, SAMPLE, cli, ensureBuilt, knnScratch, tmp } from '../helpers/cli';

function cliIn(input: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, input, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `extract SAMPLE --mode knn --rag INDEX … -o OUT` (the flags after --rag as given). */
const knnOf =
  (index: string) =>
  (out: string, ...more: string[]): string[] => [
    'extract',
    SAMPLE,
    '--mode',
    'knn',
    '--rag',
    index,
    ...more,
    '-o',
    out,
  ];

describe('CLI: standard input and output, --json, renamed flags', function () {
  this.timeout(120_000);
  before(() => ensureBuilt());

  it('import - reads standard input; -o - writes the records to standard output, nothing else there', () => {
    const r = cliIn(readFileSync(SAMPLE, 'utf8'), 'import', '-', '--from', 'semeval', '-o', '-');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.length, 12);
    for (const l of lines) assert.ok((JSON.parse(l) as { id: string }).id.startsWith('semeval-'));
    assert.match(r.err, /wrote 12 record\(s\) to standard output/);
    assert.ok(!existsSync(path.join(ROOT, '-')), 'no file named -');
    // export and validate read standard input too.
    const e = cliIn(r.out, 'export', '-', '--format', 'semeval', '-o', '-');
    assert.equal(e.code, 0, e.err);
    assert.match(e.out, /^1\tCause-Effect\(e1,e2\)$/m);
  });

  it('-o - is refused where a command appends and resumes (extract), before any work', () => {
    const { index } = knnScratch('rl-io-');
    const r = cli('extract', SAMPLE, '--mode', 'knn', '--rag', index, '-o', '-');
    assert.equal(r.code, 1);
    assert.match(r.err, /standard output \(-o -\) takes one-piece outputs .* needs a file/);
    assert.ok(!existsSync(path.join(ROOT, '-')));
  });

  it('--json: validate, import and export print one JSON object with their result', () => {
    const dir = tmp();
    const bad = path.join(dir, 'bad.jsonl');
    const good = readFileSync(path.join(ROOT, 'samples', 'semeval-sample.jsonl'), 'utf8');
    writeFileSync(bad, good.split('\n').slice(0, 2).join('\n') + '\n{"id": 1}\n');
    const v = cli('validate', bad, '--json');
    const vj = JSON.parse(v.out) as {
      records: number;
      errors: number;
      diagnostics: Array<{ line: number; severity: string }>;
    };
    assert.equal(vj.records, 2);
    assert.equal(vj.errors, 1);
    assert.equal(vj.diagnostics[0]!.line, 3);
    const out = path.join(dir, 'x.jsonl');
    const i = cli('import', SAMPLE, '-o', out, '--json');
    assert.equal(i.code, 0, i.err);
    assert.deepEqual(JSON.parse(i.out), {
      input: SAMPLE,
      format: 'semeval',
      read: 12,
      skipped: 0,
      diagnostics: 0,
      out,
    });
    const x = cli('export', out, '--format', 'semeval', '-o', path.join(dir, 'a.txt'), '--json');
    assert.equal(x.code, 0, x.err);
    assert.equal((JSON.parse(x.out) as { records: number }).records, 12);
  });

  it('one name per meaning: --demonstrations (extract), --pairs-per-prompt (extract-doc), --limit (counts); the old flags still work and say so', () => {
    const help = (...c: string[]) => cli(...c, '--help').out;
    assert.match(help('extract'), /--demonstrations <n>/);
    assert.match(help('extract-doc'), /--pairs-per-prompt <n>/);
    assert.match(help('train-lora'), /--demonstrations <n>[\s\S]*--pairs-per-prompt <n>/);
    assert.match(help('bench', 'throughput'), /--limit <n>/);
    for (const h of [help('extract'), help('extract-doc'), help('bench', 'throughput')])
      assert.doesNotMatch(h, /^\s+--(k|n) </m, 'the old flags are hidden');
    const { dir, index } = knnScratch('rl-alias-');
    const knn = knnOf(index);
    const a = cli(...knn(path.join(dir, 'a.jsonl'), '--k', '2'));
    assert.equal(a.code, 0, a.err);
    assert.match(
      a.err,
      /note: --k is now --demonstrations \(in extract\); --k still works for now/,
    );
    assert.match(a.err, /k=2/);
    const b = cli(...knn(path.join(dir, 'b.jsonl'), '--demonstrations', '2'));
    assert.equal(b.code, 0, b.err);
    assert.doesNotMatch(b.err, /note:/);
    assert.equal(
      readFileSync(path.join(dir, 'a.jsonl'), 'utf8'),
      readFileSync(path.join(dir, 'b.jsonl'), 'utf8'),
    );
  });

  it("eval names its inputs' formats --gold-from and --pred-from, as --from elsewhere; --gold-format and --pred-format still work and say so", () => {
    const help = cli('eval', '--help').out;
    assert.match(help, /--gold-from <format>[\s\S]*--pred-from <format>/);
    assert.doesNotMatch(help, /--(gold|pred)-format/);
    const evalSample = (...more: string[]) =>
      cli('eval', '--metric', 'semeval', '--gold', SAMPLE, '--pred', SAMPLE, ...more);
    const now = evalSample('--gold-from', 'semeval', '--pred-from', 'semeval', '--json');
    assert.equal(now.code, 0, now.err);
    assert.doesNotMatch(now.err, /note:/);
    const old = evalSample('--gold-format', 'semeval', '--pred-format', 'semeval', '--json');
    assert.equal(old.code, 0, old.err);
    assert.match(old.err, /note: --gold-format is now --gold-from \(in eval\)/);
    assert.match(old.err, /note: --pred-format is now --pred-from \(in eval\)/);
    assert.equal(old.out, now.out);
    assert.equal((JSON.parse(now.out) as { f1: number }).f1, 1);
    const bad = evalSample('--gold-from', 'nonsense');
    assert.equal(bad.code, 2, bad.err);
  });

  it('--quiet keeps errors, warnings and notes on stderr and drops progress and summaries; extract --json prints its run summary', () => {
    const { dir, index } = knnScratch('rl-quiet-');
    const knn = knnOf(index);
    const out = path.join(dir, 'q.jsonl');
    const q = cli('-q', ...knn(out, '--k', '2', '--json'));
    assert.equal(q.code, 0, q.err);
    assert.equal(
      q.err,
      'note: --k is now --demonstrations (in extract); --k still works for now\n',
    );
    const summary = JSON.parse(q.out) as {
      status: string;
      records: number;
      pairs: number;
      out: string;
    };
    assert.deepEqual(
      [summary.status, summary.records, summary.pairs, summary.out],
      ['completed', 12, 12, out],
    );
    const loud = cli(...knn(path.join(dir, 'l.jsonl')));
    assert.match(loud.err, /12 read, 0 skipped/, 'without --quiet the summary is there');
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"id": 1}\n');
    const v = cli('--quiet', 'validate', bad);
    assert.match(v.err, /bad\.jsonl:1:.* error: /);
    assert.doesNotMatch(v.err, /read, .* skipped/);
  });
});
