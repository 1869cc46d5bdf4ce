/**
 * What a run says and keeps when something is off (issue 26, items 3, 4, 6, 7): SFT exports
 * without a relation set, importers given duplicate ids, a server that answers outside the set
 * (the stop message with requests in flight, --retry-errors), a malformed entity list on raw
 * text, and a document with too many pairs. Servers here are small stubs on 127.0.0.1 that
 * answer as a misbehaving server would (no model needed).
 */
import { strict as assert } from 'node:assert';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RelationAligner } from '../../src/core/pipelines/align';
import { DEFAULT_MAX_PAIRS, extractDocument } from '../../src/core/pipelines/document';
import { LMRC_TEMPLATE } from '../../src/core/prompts/builtin';
import { NONE_ANSWER } from '../../src/core/prompts/views';
import { RelRecord, RelationSet } from '../../src/core/schema';
import { SAMPLE, cli, cliAsync, ensureBuilt, tmp } from '../helpers/cli';
import { ScriptedEngine } from '../helpers/scriptedEngine';
import { chatStub } from '../helpers/stubServer';

/** `extract SAMPLE` in generate mode through the server at `url`, `parallel` requests in flight. */
const generateOn = (url: string, parallel: string): string[] => [
  'extract',
  SAMPLE,
  '--engine',
  'openai',
  '--endpoint',
  url,
  '--mode',
  'generate',
  '--parallel',
  parallel,
];

const lines = async (file: string) =>
  (await fs.readFile(file, 'utf8')).split('\n').filter((l) => l.trim());

describe('run messages: what a run says and keeps when something is off', function () {
  this.timeout(120_000);
  before(() => ensureBuilt());

  it('train-lora and eval find the relation set beside the input (rel_info.json beside a DocRED file), as the editor does; without one the error names the files looked for', async () => {
    const dir = tmp();
    const docs = path.join(dir, 'dev.json');
    await fs.writeFile(
      docs,
      JSON.stringify([
        {
          title: 'Ada',
          sents: [['Ada', 'works', 'for', 'Acme', '.']],
          vertexSet: [
            [{ name: 'Ada', sent_id: 0, pos: [0, 1], type: 'PER' }],
            [{ name: 'Acme', sent_id: 0, pos: [3, 4], type: 'ORG' }],
          ],
          labels: [{ h: 0, t: 1, r: 'P108', evidence: [0] }],
        },
      ]),
    );
    const out = path.join(dir, 'a.gguf');
    const missing = cli('train-lora', docs, '-o', out, '--venv', path.join(dir, 'no-venv'));
    assert.equal(missing.code, 1, missing.err);
    assert.match(
      missing.err,
      /dev\.json: no relation set: pass --relations FILE .* or put relations\.json or relation-set\.json or rel_info\.json or relation2id\.txt beside the input/,
    );
    await fs.writeFile(path.join(dir, 'rel_info.json'), JSON.stringify({ P108: 'employer' }));
    const found = cli('train-lora', docs, '-o', out, '--venv', path.join(dir, 'no-venv'));
    assert.match(found.err, /relation set \S+ from .*rel_info\.json/);
    assert.doesNotMatch(found.err, /no relation set/);
    const ev = cli('eval', '--metric', 'docred', '--gold', docs, '--pred', docs, '--json');
    assert.equal(ev.code, 0, ev.err);
    assert.equal(JSON.parse(ev.out).f1, 1);
  });

  it('export --format sft-chat/sft-alpaca without a relation set: refused when none is found, the one beside the input or SemEval’s otherwise — never an empty label list', async () => {
    const dir = tmp();
    const custom = path.join(dir, 'custom.jsonl');
    await fs.writeFile(
      custom,
      JSON.stringify({
        id: 'r1',
        text: 'Ada works for Acme.',
        entities: [
          { id: 'e1', name: 'Ada', mentions: [{ start: 0, end: 3 }] },
          { id: 'e2', name: 'Acme', mentions: [{ start: 14, end: 18 }] },
        ],
        relations: [{ head: 'e1', tail: 'e2', label: 'works_for', source: 'gold' }],
      }) + '\n',
    );
    for (const format of ['sft-chat', 'sft-alpaca']) {
      const out = path.join(dir, `${format}.jsonl`);
      const r = cli('export', custom, '--format', format, '-o', out);
      assert.equal(r.code, 1, r.err);
      assert.match(
        r.err,
        /custom\.jsonl: --format sft-\w+ writes prompts that list the relation labels, and no relation set was found: pass --relations FILE/,
      );
      assert.ok(!existsSync(out), 'nothing written');
    }
    // A relation set beside the input is found, as the editor finds it.
    await fs.writeFile(
      path.join(dir, 'relations.json'),
      JSON.stringify({
        name: 'jobs',
        directed: true,
        noRelation: 'none',
        labels: [{ name: 'works_for' }, { name: 'founded' }],
      }),
    );
    const out = path.join(dir, 'chat.jsonl');
    const ok = cli('export', custom, '--format', 'sft-chat', '-o', out);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.err, /relation set jobs from .*relations\.json/);
    const [ex] = await lines(out);
    const user = (
      JSON.parse(ex!) as { messages: Array<{ role: string; content: string }> }
    ).messages.find((m) => m.role === 'user')!;
    assert.match(user.content, /works_for/);
    assert.match(user.content, /founded/);
    assert.doesNotMatch(user.content, /list:\n\n\n/);
    // Canonical JSONL with SemEval labels and no set: SemEval's built-in set.
    const sem = path.join(tmp(), 'sem.jsonl');
    assert.equal(cli('import', SAMPLE, '-o', sem).code, 0);
    const s = cli(
      'export',
      sem,
      '--format',
      'sft-alpaca',
      '-o',
      path.join(path.dirname(sem), 'a.jsonl'),
    );
    assert.equal(s.code, 0, s.err);
    assert.match(s.err, /relation set semeval2010-task8 from built-in SemEval-2010 Task 8/);
  });

  it('importers never write two records with one id: an exact repeat is skipped, another record gets ID~2, each with a warning naming the lines', async () => {
    const dir = tmp();
    const doc = (id: number, text: string) =>
      JSON.stringify({
        id,
        text,
        entities: [
          { id: 1, label: 'PER', start_offset: 0, end_offset: 3 },
          { id: 2, label: 'ORG', start_offset: 14, end_offset: 18 },
        ],
        relations: [{ id: 1, from_id: 1, to_id: 2, type: 'works_for' }],
      });
    const file = path.join(dir, 'doccano.jsonl');
    await fs.writeFile(
      file,
      [
        doc(7, 'Ada works for Acme.'),
        doc(8, 'Bob works for Bell.'),
        doc(7, 'Cat works for Corp.'),
        doc(8, 'Bob works for Bell.'),
      ].join('\n') + '\n',
    );
    const out = path.join(dir, 'out.jsonl');
    const r = cli('import', file, '--from', 'doccano', '-o', out);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /doccano\.jsonl:3: .*duplicate record id "7" \(first on line 1\); this record is imported as "7~2"/,
    );
    assert.match(r.err, /doccano\.jsonl:4: .*record "8" repeats line 2 exactly; skipped/);
    const ids = (await lines(out)).map((l) => (JSON.parse(l) as { id: string }).id);
    assert.deepEqual(ids, ['7', '8', '7~2']);
    const v = cli('validate', out);
    assert.equal(v.code, 0, v.err);
    // The same for SemEval's format (ids from the file).
    const sem = path.join(dir, 'sem.txt');
    const text = await fs.readFile(SAMPLE, 'utf8');
    const first = text.split('\n\n')[0]!;
    await fs.writeFile(
      sem,
      `${first}\n\n${first.replace('storm', 'gale').replace('storm', 'gale')}\n\n`,
    );
    const s = cli('import', sem, '-o', path.join(dir, 'sem.jsonl'));
    assert.equal(s.code, 0, s.err);
    const sids = (await lines(path.join(dir, 'sem.jsonl'))).map(
      (l) => (JSON.parse(l) as { id: string }).id,
    );
    assert.equal(new Set(sids).size, sids.length, `unique ids: ${sids.join(', ')}`);
  });

  it('a server answering outside the set with 4 requests in flight: the stop names 3 in a row, the limit, not the count after the requests in flight returned', async () => {
    const stub = await chatStub(() => 'I think it is probably a cause.');
    try {
      const r = await cliAsync(...generateOn(stub.url, '4'), '-o', path.join(tmp(), 'p.jsonl'))
        .done;
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /answered outside the relation set 3 times in a row/);
      assert.doesNotMatch(r.err, /[4-9] times in a row/);
    } finally {
      await stub.close();
    }
  });

  it('--retry-errors: records whose answers were out of set are extracted again on resume; other lines byte-identical, a curated one kept', async () => {
    let misbehave = true;
    // Out of set for the sentences about milk and an engine (records 2 and 3), in set otherwise.
    const stub = await chatStub((b) => {
      const text = b.messages.map((m) => m.content).join('\n');
      if (
        misbehave &&
        /<e1>engine<\/e1>|<e1>milk<\/e1>|\bengine\b.*\btruck\b|\bmilk\b.*\bjar\b/.test(text)
      )
        return 'something else';
      return b.structured_outputs?.choice?.[0] ?? 'Other';
    });
    try {
      const out = path.join(tmp(), 'p.jsonl');
      const args = [...generateOn(stub.url, '1'), '-o', out];
      const first = await cliAsync(...args).done;
      assert.equal(first.code, 3, first.err);
      assert.match(
        first.err,
        /2 pair\(s\) had errors; the same command with --retry-errors extracts their records again/,
      );
      const before = await lines(out);
      assert.equal(before.length, 12);
      const withErrors = before.filter(
        (l) =>
          (JSON.parse(l) as { meta?: { extraction?: { errors?: string[] } } }).meta?.extraction
            ?.errors?.length,
      );
      assert.equal(withErrors.length, 2);
      // A person curates one of them (adds the relation, accepted) before the retry.
      const curated = JSON.parse(withErrors[1]!) as {
        id: string;
        relations: Array<Record<string, unknown>>;
      };
      curated.relations = [
        { head: 'e1', tail: 'e2', label: 'Other', source: 'model', status: 'accepted' },
      ];
      const curatedLine = JSON.stringify(curated);
      await fs.writeFile(
        out,
        before.map((l) => (l === withErrors[1] ? curatedLine : l)).join('\n') + '\n',
      );
      misbehave = false;
      // Resume alone: nothing to do (they count as done).
      const again = await cliAsync(...args).done;
      assert.equal(again.code, 0, again.err);
      assert.match(again.err, /nothing to do/);
      const posts = stub.posts();
      const retry = await cliAsync(...args, '--retry-errors').done;
      assert.equal(retry.code, 0, retry.err);
      assert.match(
        retry.err,
        /1 record\(s\) whose extraction had errors taken out, to be extracted again \(--retry-errors\)/,
      );
      assert.match(
        retry.err,
        /1 record\(s\) with extraction errors were curated since; kept as they are/,
      );
      assert.equal(stub.posts() - posts, 1, 'one record asked again');
      const after = await lines(out);
      assert.equal(after.length, 12);
      // Every line not retried is byte-identical and in place; the retried one is at the end.
      const kept = before
        .filter((l) => l !== withErrors[0])
        .map((l) => (l === withErrors[1] ? curatedLine : l));
      assert.deepEqual(after.slice(0, 11), kept);
      const redone = JSON.parse(after[11]!) as {
        id: string;
        meta?: { extraction?: { errors?: string[] } };
      };
      assert.equal(redone.id, (JSON.parse(withErrors[0]!) as { id: string }).id);
      assert.equal(redone.meta?.extraction?.errors, undefined);
      const no = cli(...args, '--retry-errors', '--no-resume');
      assert.equal(no.code, 1);
      assert.match(no.err, /--retry-errors resumes a run; it does not go with --no-resume/);
    } finally {
      await stub.close();
    }
  });

  it('extract-doc on raw text: a malformed entity list is said in the summary and the exit status, not only in the report file', async () => {
    const stub = await chatStub(() => 'Sure! Here are the entities: Marie Curie, Warsaw.');
    try {
      const dir = tmp();
      const txt = path.join(dir, 'curie.txt');
      await fs.writeFile(txt, 'Marie Curie was born in Warsaw. She worked in Paris.\n');
      const relations = path.join(dir, 'relations.json');
      await fs.writeFile(
        relations,
        JSON.stringify({
          name: 'geo',
          directed: true,
          noRelation: null,
          labels: [{ name: 'born in' }],
        }),
      );
      const r = await cliAsync(
        'extract-doc',
        txt,
        '--relations',
        relations,
        '--engine',
        'openai',
        '--endpoint',
        stub.url,
        '--json',
        '-o',
        path.join(dir, 'out.jsonl'),
      ).done;
      assert.equal(r.code, 3, r.err);
      assert.match(
        r.err,
        /entities found in \S+ \(0\): none — the model's entity list was malformed or failed in 1 of 1 chunk\(s\) of the text: no entities from it/,
      );
      // --json: the run's summary on standard output.
      const summary = JSON.parse(r.out) as { documents: number; pairs: number; out: string };
      assert.deepEqual(
        [summary.documents, summary.pairs, summary.out],
        [1, 0, path.join(dir, 'out.jsonl')],
      );
    } finally {
      await stub.close();
    }
  });

  it('a document with more pairs than --max-pairs is written unchanged with an error, before any pair is listed or prompted', async () => {
    const rs: RelationSet = {
      name: 'r',
      noRelation: null,
      directed: true,
      labels: [{ name: 'near' }],
    };
    const n = 120; // 14,280 ordered pairs: above the default limit
    const words = Array.from({ length: n }, (_, i) => `w${i}`);
    const text = words.join(' ') + '.';
    let at = 0;
    const record: RelRecord = {
      id: 'big',
      text,
      entities: words.map((w, i) => {
        const start = at;
        at += w.length + 1;
        return { id: `e${i}`, name: w, mentions: [{ start, end: start + w.length }] };
      }),
      relations: [],
    };
    const options = {
      relationSet: rs,
      template: LMRC_TEMPLATE,
      none: true,
      k: 4,
      filter: { kind: 'none' as const },
      aligner: new RelationAligner(['near'], { noneWords: [NONE_ANSWER] }),
      model: 'scripted',
    };
    assert.ok(n * (n - 1) > DEFAULT_MAX_PAIRS);
    const engine = new ScriptedEngine(() => '');
    const { record: out, report } = await extractDocument(engine, record, options);
    assert.equal(engine.prompts.length, 0, 'no prompt sent');
    assert.equal(report.dropped['too-many-pairs'], n * (n - 1));
    assert.match(
      report.errors[0]!,
      /14280 candidate pair\(s\) \(120 entities\), more than the limit of 10000: not sent to the model \(about 3570 prompts\)\. Use a pair filter \(--filter FILE from train-filter\), split the document, or raise --max-pairs/,
    );
    assert.deepEqual(out.relations, []);
    assert.deepEqual(
      (out.meta as { extraction: { errors: string[] } }).extraction.errors,
      report.errors,
    );
    // Under the limit the document runs.
    const small = { ...record, entities: record.entities.slice(0, 4) };
    const e2 = new ScriptedEngine(() => '(w0| near| w1)');
    const r2 = await extractDocument(e2, small, { ...options, maxPairs: 12 });
    assert.equal(r2.report.errors.length, 0);
    assert.equal(e2.prompts.length, 3);
    const r3 = await extractDocument(new ScriptedEngine(() => ''), small, {
      ...options,
      maxPairs: 11,
    });
    assert.match(
      r3.report.errors[0]!,
      /12 candidate pair\(s\) \(4 entities\), more than the limit of 11/,
    );
  });
});
