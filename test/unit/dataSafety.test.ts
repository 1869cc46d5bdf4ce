/**
 * Data safety (issue 10): one regression test per defect found, through the CLI as a user runs
 * it where the defect was seen there. The extraction runs use `--mode knn` over a BM25 index (no
 * model: fast and deterministic); the write path is the same as with an LLM.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import * as path from 'node:path';
import { SEMEVAL_RELATIONS, importSemEval } from '../../src/core/formats/semeval';
import { linesOfText } from '../../src/core/io/lines';
import { maxJsonDepth } from '../../src/core/io/jsonDepth';
import { pairPrompt } from '../../src/core/pipelines/sentence';
import { exportSftChat } from '../../src/core/formats/sft';
import { RelRecord } from '../../src/core/schema';
import { gbnfLiteral } from '../../src/core/util/gbnf';
import { recordHoverMarkdown } from '../../src/core/editor/hover';
import { RecordLineCache, lineDecorations } from '../../src/core/editor/lineDecorations';
import { readJsonArray } from '../../src/core/io/jsonArray';
import { isInsideFolder } from '../../src/node/files';
import { RequestSchema } from '../../src/protocol/webview';
import {
  appendLines,
  lockOutput,
  lockPath,
  openRecordOutput,
  scanForResume,
} from '../../src/node/output';
import { SAMPLE, cli, knnArgs, knnScratch } from '../helpers/cli';
import { dataset, requireShared } from '../helpers/shared';
import { DEFAULT_TEMPLATE } from '../../src/core/prompts/builtin';

const sha = async (f: string) => (await fs.readFile(f)).toString('base64');
const recordLine = (id: string, extra: Partial<RelRecord> = {}) =>
  JSON.stringify({ id, text: 'a b', entities: [], relations: [], ...extra });

describe('data safety (issue 10)', function () {
  this.timeout(120_000);
  let dir: string;
  let index: string;
  const knn = (input: string, out: string, ...more: string[]) =>
    cli(...knnArgs(index, input, out, ...more));

  before(() => ({ dir, index } = knnScratch('rl-safety-')));
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('1. extract never truncates a file that is not its output', () => {
    it('refuses the input as its output (SemEval TXT in and out): the TXT stays byte-identical', async () => {
      const victim = path.join(dir, 'victim.txt');
      await fs.copyFile(SAMPLE, victim);
      const before = await sha(victim);
      const r = knn(victim, victim);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /victim\.txt: the output is also an input/);
      assert.equal(await sha(victim), before);
    });

    it('refuses an existing Markdown file as output (exit 1, untouched); --force replaces it', async () => {
      const notes = path.join(dir, 'notes.md');
      await fs.writeFile(notes, '# My notes\n\nweeks of work\n');
      const r = knn(SAMPLE, notes);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /notes\.md: not a Relation Lens output \(line 1 is not JSON\)/);
      assert.equal(await fs.readFile(notes, 'utf8'), '# My notes\n\nweeks of work\n');
      const f = knn(SAMPLE, notes, '--force');
      assert.equal(f.code, 0, f.err);
      assert.equal((await fs.readFile(notes, 'utf8')).trim().split('\n').length, 12);
    });
  });

  describe('2. resume keeps every valid line byte-identical', () => {
    it('stops with file:line at a malformed line in the middle, writing nothing', async () => {
      const out = path.join(dir, 'mid.jsonl');
      let r = knn(SAMPLE, out, '--limit', '3');
      assert.equal(r.code, 0, r.err);
      const lines = (await fs.readFile(out, 'utf8')).split('\n');
      await fs.writeFile(out, [lines[0], '{"id": broken', ...lines.slice(1)].join('\n'));
      const before = await sha(out);
      r = knn(SAMPLE, out);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /mid\.jsonl:2: this line is not JSON/);
      assert.equal(await sha(out), before);
    });

    it('resumes after a curated last line without a newline: that line is kept as it is, every input id once', async () => {
      const out = path.join(dir, 'curated.jsonl');
      let r = knn(SAMPLE, out, '--limit', '4');
      assert.equal(r.code, 0, r.err);
      // The curator accepts the last prediction and saves in an editor that adds no final newline.
      const lines = (await fs.readFile(out, 'utf8')).trimEnd().split('\n');
      const last = JSON.parse(lines[3]!) as RelRecord;
      last.relations = [
        { head: 'e1', tail: 'e2', label: 'Cause-Effect', source: 'human', status: 'accepted' },
      ];
      lines[3] = JSON.stringify(last);
      const curated = lines.join('\n');
      await fs.writeFile(out, curated);
      r = knn(SAMPLE, out);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /resumed: 4 record/);
      const after = await fs.readFile(out, 'utf8');
      assert.ok(after.startsWith(curated + '\n'), 'the curated lines are kept byte for byte');
      const ids = after
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as RelRecord).id);
      assert.equal(ids.length, 12);
      assert.equal(new Set(ids).size, 12);
    });

    it('moves a torn last line (an interrupted write) aside instead of dropping it', async () => {
      const out = path.join(dir, 'torn.jsonl');
      let r = knn(SAMPLE, out, '--limit', '2');
      assert.equal(r.code, 0, r.err);
      const good = await fs.readFile(out, 'utf8');
      await fs.appendFile(out, '{"id":"semeval-80');
      r = knn(SAMPLE, out);
      assert.equal(r.code, 0, r.err);
      const m = /moved to (\S+)/.exec(r.err);
      assert.ok(m, r.err);
      assert.equal(await fs.readFile(m[1]!, 'utf8'), '{"id":"semeval-80');
      assert.ok((await fs.readFile(out, 'utf8')).startsWith(good));
    });

    it('--no-resume on an existing output needs --force', async () => {
      const out = path.join(dir, 'again.jsonl');
      assert.equal(knn(SAMPLE, out, '--limit', '2').code, 0);
      const before = await sha(out);
      const r = knn(SAMPLE, out, '--no-resume');
      assert.equal(r.code, 1);
      assert.match(r.err, /exists; run without --no-resume to continue it, or pass --force/);
      assert.equal(await sha(out), before);
      assert.equal(knn(SAMPLE, out, '--no-resume', '--force').code, 0);
      assert.equal((await fs.readFile(out, 'utf8')).trim().split('\n').length, 12);
    });
  });

  describe('3. import/export never replace their input, nor an existing file without --force', () => {
    it('import -o INPUT and export -o INPUT are refused; the inputs stay byte-identical', async () => {
      const txt = path.join(dir, 'in.txt');
      await fs.copyFile(SAMPLE, txt);
      let r = cli('import', txt, '-o', txt);
      assert.equal(r.code, 1);
      assert.match(r.err, /in\.txt: the output is also an input/);
      assert.equal(await sha(txt), await sha(SAMPLE));
      const jsonl = path.join(dir, 'in.jsonl');
      await fs.writeFile(jsonl, recordLine('a') + '\n{broken\n');
      const before = await sha(jsonl);
      r = cli('export', '--format', 'semeval', jsonl, '-o', jsonl);
      assert.equal(r.code, 1);
      assert.equal(await sha(jsonl), before, 'the skipped invalid line is still there');
      // The same file through another spelling of its path.
      r = cli('import', path.join(dir, '.', 'sub', '..', 'in.txt'), '-o', txt);
      assert.equal(r.code, 1);
    });

    it('an existing output is replaced only with --force', async () => {
      const out = path.join(dir, 'exists.jsonl');
      await fs.writeFile(out, 'precious\n');
      let r = cli('import', SAMPLE, '-o', out);
      assert.equal(r.code, 1);
      assert.match(r.err, /exists; pass --force/);
      assert.equal(await fs.readFile(out, 'utf8'), 'precious\n');
      r = cli('import', SAMPLE, '--force', '-o', out);
      assert.equal(r.code, 0, r.err);
      assert.equal((await fs.readFile(out, 'utf8')).trim().split('\n').length, 12);
    });
  });

  describe('4. one run per output', () => {
    it('a lock held by a live process makes a second run refuse, naming it; a stale lock is taken over', async () => {
      const out = path.join(dir, 'locked.jsonl');
      const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
      try {
        await fs.writeFile(
          lockPath(out),
          JSON.stringify({
            pid: sleeper.pid,
            host: (await import('node:os')).hostname(),
            started: 'earlier',
            command: 'extract other',
          }),
        );
        const r = knn(SAMPLE, out);
        assert.equal(r.code, 1);
        assert.match(
          r.err,
          new RegExp(
            `another run is writing this file \\(pid ${sleeper.pid}, started earlier: extract other\\)`,
          ),
        );
        await assert.rejects(fs.stat(out), 'nothing was written');
      } finally {
        sleeper.kill();
      }
      await new Promise((res) => sleeper.once('exit', res));
      const r = knn(SAMPLE, out);
      assert.equal(r.code, 0, r.err);
      await assert.rejects(fs.stat(lockPath(out)), 'the lock is removed at the end');
    });

    it('in-process: the second lock of one output fails until the first is released', async () => {
      const out = path.join(dir, 'lock2.jsonl');
      const release = await lockOutput(out, 'first');
      await assert.rejects(
        lockOutput(out, 'second'),
        /another run is writing this file \(pid \d+, started \S+: first\)/,
      );
      await release();
      const again = await lockOutput(out, 'third');
      await again();
    });

    it("the lock is linked into place whole; a killed run's private lock file is removed by the next run", async () => {
      const out = path.join(dir, 'lock3.jsonl');
      const gone = spawn(process.execPath, ['-e', '0']);
      await new Promise((res) => gone.once('exit', res));
      const stray = `${lockPath(out)}.${gone.pid}.tmp`;
      await fs.writeFile(stray, '{}\n');
      const release = await lockOutput(out, 'whole');
      const info = JSON.parse(await fs.readFile(lockPath(out), 'utf8')) as { command: string };
      assert.equal(info.command, 'whole');
      await assert.rejects(fs.stat(stray), 'the stray private lock file is removed');
      assert.deepEqual(
        (await fs.readdir(dir)).filter((n) => n.startsWith('lock3.jsonl.lock.')),
        [],
        'no private lock file of this run is left',
      );
      await release();
    });
  });

  describe('5. SemEval importer', () => {
    it('a block without its Comment: line and blank line does not swallow the next record', async () => {
      const text =
        '1\t"The <e1>a</e1> b <e2>c</e2>."\nOther\n2\t"The <e1>d</e1> e <e2>f</e2>."\nCause-Effect(e1,e2)\nComment:\n\n';
      const r = await importSemEval(linesOfText(text), 'x.txt');
      assert.deepEqual(
        r.records.map((x) => x.id),
        ['semeval-1', 'semeval-2'],
      );
      assert.ok(r.diagnostics.some((d) => d.line === 3 && /missing blank line/.test(d.message)));
    });

    it('on the real test file with one block stripped: 2717 of 2717 records', async function () {
      const file = dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT');
      requireShared(this, file);
      const lines = (await fs.readFile(file, 'utf8')).split('\r\n');
      const i = lines.findIndex((l) => l.startsWith('8100\t'));
      assert.ok(lines[i + 2]!.startsWith('Comment:') && lines[i + 3] === '');
      lines.splice(i + 2, 2);
      const r = await importSemEval(linesOfText(lines.join('\r\n')), 'test.txt');
      assert.equal(r.records.length, 2717);
      assert.equal(r.skipped, 0);
      assert.ok(r.records.some((x) => x.id === 'semeval-test-8101'));
    });
  });

  describe('7. nesting limit', () => {
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    it('validate and import report the deep record with file:line; the other records go on; extract processes them', async () => {
      const file = path.join(dir, 'deep.jsonl');
      const rec = (id: string) =>
        JSON.parse(
          recordLine(id, {
            text: 'The a and the b.',
            entities: [
              { id: 'e1', name: 'a', type: null, mentions: [{ start: 4, end: 5 }] },
              { id: 'e2', name: 'b', type: null, mentions: [{ start: 14, end: 15 }] },
            ],
            pairs: [['e1', 'e2']],
          }),
        ) as RelRecord;
      const deepLine = JSON.stringify(rec('deep')).replace(/}$/, `,"meta":${deep(10_000)}}`);
      await fs.writeFile(
        file,
        [JSON.stringify(rec('r1')), deepLine, JSON.stringify(rec('r3'))].join('\n') + '\n',
      );
      assert.ok(maxJsonDepth(deepLine) > 10_000);
      let r = cli('validate', file);
      assert.equal(r.code, 3);
      assert.match(r.err, /deep\.jsonl:2: error: the line nests JSON deeper than 64 levels/);
      r = cli('export', '--format', 'jsonl', file, '-o', path.join(dir, 'deep-out.jsonl'));
      assert.equal(r.code, 3, r.err);
      assert.doesNotMatch(r.err, /Maximum call stack/);
      const out = path.join(dir, 'deep-pred.jsonl');
      r = cli(
        'extract',
        file,
        '--relations',
        path.join(dir, 'semeval.json'),
        '--mode',
        'knn',
        '--rag',
        index,
        '-o',
        out,
      );
      assert.equal(r.code, 3, r.err);
      assert.deepEqual(
        (await fs.readFile(out, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as RelRecord).id),
        ['r1', 'r3'],
      );
    });
    before(async () =>
      fs.writeFile(path.join(dir, 'semeval.json'), JSON.stringify(SEMEVAL_RELATIONS)),
    );
  });

  describe('8. GBNF literals', () => {
    it('control characters become hex escapes llama.cpp knows (no \\f or \\b)', () => {
      assert.equal(
        gbnfLiteral('a\fb\bc\u0001"\\\n\t\u007f'),
        '"a\\x0cb\\x08c\\x01\\"\\\\\\n\\t\\x7f"',
      );
      assert.throws(
        () => gbnfLiteral('bad\ud800'),
        /the label "bad\\ud800" cannot be used in a grammar: it contains a lone UTF-16 surrogate/,
      );
    });
  });

  describe('9. outputs are checked before any work', () => {
    it('-o /dev/full is refused at once (before the model), not read into memory', function () {
      const r = cli(
        'extract',
        SAMPLE,
        '--model',
        path.join(dir, 'no-such-model.gguf'),
        '-o',
        '/dev/full',
      );
      assert.equal(r.code, 1);
      assert.match(r.err, /\/dev\/full: not a regular file/);
      assert.doesNotMatch(r.err, /no-such-model/);
    });

    it('-o into a missing folder creates it (like import) and writes', async () => {
      const out = path.join(dir, 'new', 'folder', 'p.jsonl');
      const r = knn(SAMPLE, out);
      assert.equal(r.code, 0, r.err);
      assert.equal((await fs.readFile(out, 'utf8')).trim().split('\n').length, 12);
    });

    it('a read-only output folder is refused before the model loads', async function () {
      if (process.getuid?.() === 0) {
        console.log(
          '    SKIP: running as root (permissions do not apply); the read-only mount test in test/faults covers it',
        );
        return this.skip();
      }
      const ro = path.join(dir, 'ro');
      await fs.mkdir(ro);
      await fs.chmod(ro, 0o555);
      const r = cli(
        'extract',
        SAMPLE,
        '--model',
        path.join(dir, 'no-such-model.gguf'),
        '-o',
        path.join(ro, 'p.jsonl'),
      );
      await fs.chmod(ro, 0o755);
      assert.equal(r.code, 1);
      assert.match(r.err, /not writable/);
    });
  });

  describe('10. format detection', () => {
    it('a DocRED document as one JSON object (not an array) is read as one document', async function () {
      const file = dataset('redocred', 'dev_revised.json');
      requireShared(this, file);
      const docs = JSON.parse(await fs.readFile(file, 'utf8')) as unknown[];
      const one = path.join(dir, 'one-doc.json');
      await fs.writeFile(one, JSON.stringify(docs[0], null, 2));
      const out = path.join(dir, 'one-doc.jsonl');
      const r = cli('import', one, '-o', out);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /one JSON object, not an array/);
      assert.equal((await fs.readFile(out, 'utf8')).trim().split('\n').length, 1);
    });

    it('an empty [] submission scores as a system that predicted nothing', async function () {
      const gold = dataset('redocred', 'dev_revised.json');
      requireShared(this, gold);
      const empty = path.join(dir, 'empty.json');
      await fs.writeFile(empty, '[]\n');
      const r = cli(
        'eval',
        '--metric',
        'docred',
        '--gold',
        gold,
        '--rel-info',
        dataset('redocred', 'rel_info.json'),
        '--pred',
        empty,
        '--json',
      );
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { f1: number; recall: number };
      assert.equal(j.f1, 0);
      assert.equal(j.recall, 0);
    });
  });

  describe('nothing read is fatal', () => {
    it('import --from finre on a SemEval file writes nothing, exits 1 and names the format the file looks like', async () => {
      const out = path.join(dir, 'wrong-format.jsonl');
      const r = cli('import', '--from', 'finre', SAMPLE, '-o', out);
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        /no record could be read as finre \(\d+ unit\(s\) skipped\); the file looks like semeval \(--from semeval\); nothing was written/,
      );
      await assert.rejects(fs.stat(out));
      // the older name still works for import
      assert.match(
        cli('import', '--format', 'finre', SAMPLE, '-o', out).err,
        /the file looks like semeval \(--from semeval\)/,
      );
    });

    it('one option names the input format everywhere: --from (import, validate, export, extract, extract-doc, index build, train-lora), and the messages say so', async () => {
      for (const cmd of [
        ['import'],
        ['validate'],
        ['export'],
        ['extract'],
        ['extract-doc'],
        ['index', 'build'],
        ['train-lora'],
      ]) {
        const help = cli(...cmd, '--help').out;
        assert.match(
          help,
          /--from <format>\s+input format \(detected when omitted\)/,
          `${cmd.join(' ')} --help`,
        );
      }
      const odd = path.join(dir, 'odd.dat');
      await fs.writeFile(odd, 'nothing any importer knows\n');
      const r = cli('validate', odd);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /odd\.dat: cannot tell the format of this file; pass --from FORMAT \(one of: jsonl, semeval,/,
      );
    });
  });

  describe('a CLI that guides (issue 15, the messages a user sees)', () => {
    it('extract on plain prose points to extract-doc and writes nothing', async () => {
      const prose = path.join(dir, 'prose.txt');
      await fs.writeFile(prose, 'Paris is the capital of France. It is a big city.\n');
      const out = path.join(dir, 'prose.jsonl');
      const r = knn(prose, out);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /prose\.txt: this looks like plain text without entity annotations; `relation-lens extract-doc` finds the entities/,
      );
      await assert.rejects(fs.stat(out), 'no empty output is left behind');
    });

    it('a resumed extract with nothing left says so instead of "wrote 0 record(s)"', async () => {
      const out = path.join(dir, 'done.jsonl');
      assert.equal(knn(SAMPLE, out).code, 0);
      const r = knn(SAMPLE, out);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /nothing to do: all 12 record\(s\) are in .*done\.jsonl already/);
      assert.doesNotMatch(r.err, /wrote 0 record/);
    });

    it('eval warns when the predictions cover part of the gold, and --only-predicted scores that part', async () => {
      const few = path.join(dir, 'few.txt');
      await fs.writeFile(
        few,
        (await fs.readFile(SAMPLE, 'utf8'))
          .split('\n')
          .slice(0, 4 * 3)
          .join('\n') + '\n',
      );
      const preds = path.join(dir, 'few-answers.txt');
      assert.equal(cli('export', '--format', 'semeval', few, '-o', preds).code, 0);
      let r = cli('eval', '--metric', 'semeval', '--gold', SAMPLE, '--pred', preds);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        /warning: 9 of 12 key example\(s\) have no prediction: they count as misses in recall.*--only-predicted/,
      );
      r = cli(
        'eval',
        '--metric',
        'semeval',
        '--gold',
        SAMPLE,
        '--pred',
        preds,
        '--only-predicted',
        '--json',
      );
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { f1: number; counts: { answer: number }; warnings: string[] };
      assert.equal(j.counts.answer, 3);
      assert.equal(j.f1, 1);
      assert.deepEqual(j.warnings, []);
    });

    it('the top-level help names what the tool does', () => {
      const r = cli('--help');
      assert.equal(r.code, 0);
      assert.match(r.out, /extract relations \(sentence and document level\)/);
    });
  });

  describe('11. prompts', () => {
    it('the default prompt lists the no-relation label once, in extraction and in SFT export alike', () => {
      const record: RelRecord = {
        id: 'x',
        text: 'The a and the b.',
        entities: [
          { id: 'e1', name: 'a', type: null, mentions: [{ start: 4, end: 5 }] },
          { id: 'e2', name: 'b', type: null, mentions: [{ start: 14, end: 15 }] },
        ],
        relations: [],
        pairs: [['e1', 'e2']],
      };
      const p = pairPrompt(record, record.entities[0]!, record.entities[1]!, {
        relationSet: SEMEVAL_RELATIONS,
        template: DEFAULT_TEMPLATE,
      });
      assert.equal(p.user.match(/^- Other\b/gm)?.length, 1, p.user);
      const sft = exportSftChat([record], DEFAULT_TEMPLATE, SEMEVAL_RELATIONS);
      assert.equal(sft.match(/- Other: /g)?.length, 1, sft);
    });
  });

  describe('readers', () => {
    it('a missing opening brace in a JSON array is reported and reading goes on (it looped, allocating without end)', () => {
      const r = readJsonArray('[{"a":1},"b":2},{"c":3}]', 'x.json');
      assert.deepEqual(
        r.elements.map((e) => e.value),
        [{ a: 1 }, { c: 3 }],
      );
      assert.ok(r.diagnostics.some((d) => d.severity === 'error' && d.line === 1));
    });

    it('content after a premature end of the array is reported, not dropped silently', () => {
      const r = readJsonArray('[{"a":[1]]},\n{"c":3}]', 'x.json');
      assert.ok(
        r.diagnostics.some((d) => d.severity === 'error'),
        JSON.stringify(r.diagnostics),
      );
      const q = readJsonArray('[{"a":1}]\n{"b":2}]', 'y.json');
      assert.deepEqual(
        q.elements.map((e) => e.value),
        [{ a: 1 }],
      );
      assert.ok(
        q.diagnostics.some(
          (d) => d.line === 2 && /after the end of the JSON array/.test(d.message),
        ),
      );
    });
  });

  describe('VS Code side: hover and webview', () => {
    it('hover Markdown escapes every string from the file: no links, commands or icons of its own; bad numbers do not throw', () => {
      const evil =
        '[Accept](command:relationLens.acceptRelation?%5B%7B%22uri%22%3A%22file%3A%2F%2F%2Fother%22%7D%5D) $(alert) <img src=x>';
      const record = {
        id: evil,
        text: 'The a and the b.',
        entities: [
          { id: 'e1', name: 'a', type: null, mentions: [{ start: 4, end: 5 }] },
          { id: 'e2', name: 'b', type: null, mentions: [{ start: 14, end: 15 }] },
        ],
        relations: [
          {
            head: 'e1',
            tail: 'e2',
            label: 'Cause-Effect',
            source: 'model' as const,
            score: 0.5,
            meta: {
              model: evil,
              top: [
                [evil, 'x'],
                ['Other', 0.25],
              ],
              neighbours: [evil],
              adapters: [evil],
            },
          },
        ],
        pairs: [['e1', 'e2']] as Array<[string, string]>,
      };
      const line = JSON.stringify(record);
      const d = lineDecorations(line, new RecordLineCache(), 'Other')!;
      const md = recordHoverMarkdown(record as RelRecord, d, () => 'ARGS');
      assert.equal(md.match(/\]\(command:/g)?.length, 4, 'only the four links of the host');
      assert.equal(md.match(/command:relationLens\.ignoreRelation\?ARGS/g)?.length, 1);
      assert.equal(md.match(/command:relationLens\.acceptRelation\?ARGS/g)?.length, 1);
      assert.ok(!/[^\\]\$\(alert\)/.test(md), 'the file cannot add an icon');
      assert.ok(!/[^\\]<img/.test(md), 'no raw HTML from the file');
      assert.match(md, /Other 0\.250/);
      assert.match(md, /\\"x\\"/, 'a non-number probability is shown as escaped text');
    });

    it('the webview protocol has no way to name a file to evaluate', () => {
      const ok = RequestSchema.safeParse({
        type: 'request',
        id: 1,
        method: 'evaluate',
        params: {},
      });
      assert.ok(ok.success);
      const bad = RequestSchema.safeParse({
        type: 'request',
        id: 1,
        method: 'evaluate',
        params: { predictions: '/etc/passwd' },
      });
      assert.ok(!bad.success);
    });

    it('isInsideFolder: the workspace and its subfolders, not siblings or parents', () => {
      assert.ok(isInsideFolder('/w/proj', '/w/proj/a/b.gguf'));
      assert.ok(isInsideFolder('/w/proj', '/w/proj'));
      assert.ok(!isInsideFolder('/w/proj', '/w/proj-other/x'));
      assert.ok(!isInsideFolder('/w/proj', '/w/proj/../secret'));
      assert.ok(!isInsideFolder('/w/proj', '/etc/passwd'));
    });
  });

  describe('the output policy in process', () => {
    it('scanForResume streams and names the first foreign line; a repeated id is refused', async () => {
      const f = path.join(dir, 'scan.jsonl');
      await fs.writeFile(f, `${recordLine('a')}\n\n${recordLine('b')}\n${recordLine('a')}\n`);
      await assert.rejects(scanForResume(f), /scan\.jsonl:4: this line repeats the record id "a"/);
      await fs.writeFile(f, `${recordLine('a')}\n{"id":"c"}\n`);
      await assert.rejects(scanForResume(f), /scan\.jsonl:2: this line is not a record/);
      await fs.writeFile(f, `${recordLine('a')}\n${recordLine('b')}`);
      const s = await scanForResume(f);
      assert.deepEqual([...s.done], ['a', 'b']);
      assert.equal(s.needsNewline, true);
    });

    it('openRecordOutput appends after a last line without a newline, one line per record', async () => {
      const f = path.join(dir, 'append.jsonl');
      await fs.writeFile(f, recordLine('a'));
      const o = await openRecordOutput(f, { inputs: [], resume: true });
      await o.append(recordLine('b'));
      await o.close();
      assert.equal(await fs.readFile(f, 'utf8'), `${recordLine('a')}\n${recordLine('b')}\n`);
    });

    it('appendLines keeps invalid UTF-8 bytes of the existing file and adds the missing newline', async () => {
      const f = path.join(dir, 'side.relations.jsonl');
      const old = Buffer.concat([
        Buffer.from(recordLine('a') + '\n'),
        Buffer.from([0xff, 0xfe, 0x41]),
      ]);
      await fs.writeFile(f, old);
      await appendLines(f, [recordLine('b')]);
      const now = await fs.readFile(f);
      assert.ok(now.subarray(0, old.length).equals(old), 'existing bytes unchanged');
      assert.equal(now.subarray(old.length).toString('utf8'), `\n${recordLine('b')}\n`);
      await assert.rejects(appendLines(dir, ['x']), /not a regular file/);
    });
  });
});
