/**
 * brat standoff: export --format brat writes a folder that import reads back to the same
 * records (ids, texts, entity mentions and grouping, relations) on SemEval, FinRE and Re-DocRED
 * files and on text with emoji (brat counts code points); bad .ann lines are named by file and line.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { serializeRecord } from '../../src/core/formats/canonical';
import { RelRecord } from '../../src/core/schema';
import { loadRecords } from '../../src/node/load';
import { cli, ensureBuilt } from '../helpers/cli';
import { dataset, requireShared } from '../helpers/shared';

/** A record's content with entity ids replaced by their first mention's span (brat renames them). */
function shape(r: RelRecord) {
  const key = new Map(
    r.entities.map((e) => [e.id, `${e.mentions[0]!.start}:${e.mentions[0]!.end}`]),
  );
  return {
    id: r.id,
    text: r.text,
    entities: r.entities
      .map((e) => ({
        type: e.type ?? null,
        mentions: e.mentions.map((m) => `${m.start}:${m.end}:${m.type ?? e.type ?? null}`),
      }))
      .sort((a, b) => a.mentions[0]!.localeCompare(b.mentions[0]!)),
    relations: r.relations
      .filter((x) => x.status !== 'rejected')
      .map((x) => `${key.get(x.head)} ${x.label} ${key.get(x.tail)}`)
      .sort(),
  };
}

describe('brat standoff export and import', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'rl-brat-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const roundTrip = async (name: string, input: string, n: number, extra: string[] = []) => {
    const src = (await loadRecords(input, extra.length ? { relInfo: extra[1] } : {})).records.slice(
      0,
      n,
    );
    const jsonl = path.join(dir, `${name}.jsonl`);
    writeFileSync(jsonl, src.map((r) => serializeRecord(r) + '\n').join(''));
    const out = path.join(dir, `${name}-brat`);
    let r = cli('export', jsonl, '--format', 'brat', '-o', out);
    assert.equal(r.code, 0, r.err);
    assert.ok(
      existsSync(path.join(out, 'annotation.conf')) && existsSync(path.join(out, 'visual.conf')),
    );
    const back = path.join(dir, `${name}-back.jsonl`);
    r = cli('import', out, '-o', back);
    assert.equal(r.code, 0, r.err);
    const got = (await loadRecords(back)).records;
    assert.equal(got.length, src.length);
    // A brat folder has no document order: compared by id.
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    assert.deepEqual(got.map(shape).sort(byId), src.map(shape).sort(byId));
    return { src, out };
  };

  it('SemEval: untyped entities and directed labels come back', async function () {
    const f = dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT');
    requireShared(this, f);
    const { src, out } = await roundTrip('semeval', f, 50);
    const ann = readFileSync(path.join(out, `${src[0]!.id}.ann`), 'utf8');
    assert.match(ann, /^T1\tENTITY \d+ \d+\t/m, 'an entity without a type');
    assert.match(
      readFileSync(path.join(out, 'visual.conf'), 'utf8'),
      /^Message-Topic \| Message-Topic$/m,
    );
  });

  it('FinRE (Chinese): code-point offsets of CJK text', async function () {
    const f = dataset('finre', 'test.txt');
    requireShared(this, f);
    await roundTrip('finre', f, 50);
  });

  it('Re-DocRED: multi-mention entities as Equiv groups, relation names with spaces, titles as file names', async function () {
    const f = dataset('redocred', 'test_revised.json');
    requireShared(this, f);
    const { src, out } = await roundTrip('docred', f, 5, [
      '--rel-info',
      dataset('redocred', 'rel_info.json'),
    ]);
    assert.ok(existsSync(path.join(out, `${encodeURIComponent(src[0]!.id)}.ann`)));
    assert.match(
      readFileSync(path.join(out, `${encodeURIComponent(src[0]!.id)}.ann`), 'utf8'),
      /^\*\tEquiv T\d+ T\d+/m,
    );
  });

  it('emoji and surrogate pairs: brat offsets count code points, records UTF-16 units', async () => {
    const text = '🎉 Ana 🇵🇹 works at Acme in Lisboa.';
    const at = (s: string) => text.indexOf(s);
    const rec: RelRecord = {
      id: 'party/1*',
      text,
      entities: [
        { id: 'a', name: 'Ana', type: 'PER', mentions: [{ start: at('Ana'), end: at('Ana') + 3 }] },
        {
          id: 'b',
          name: 'Acme',
          type: 'ORG',
          mentions: [{ start: at('Acme'), end: at('Acme') + 4 }],
        },
        {
          id: 'c',
          name: 'Lisboa',
          type: null,
          mentions: [{ start: at('Lisboa'), end: at('Lisboa') + 6 }],
        },
      ],
      relations: [
        { head: 'a', tail: 'b', label: 'works at' },
        { head: 'b', tail: 'c', label: 'located in', status: 'rejected' },
      ],
    };
    const jsonl = path.join(dir, 'emoji.jsonl');
    writeFileSync(jsonl, serializeRecord(rec) + '\n');
    const out = path.join(dir, 'emoji-brat');
    assert.equal(cli('export', jsonl, '--format', 'brat', '-o', out).code, 0);
    const ann = readFileSync(path.join(out, 'party%2F1%2A.ann'), 'utf8');
    assert.match(ann, /^T1\tPER 2 5\tAna$/m, 'code points: 🎉 is one');
    assert.ok(!/located/.test(ann), 'a rejected relation is not exported');
    assert.match(ann, /^R1\tworks_at Arg1:T1 Arg2:T2$/m);
    assert.match(readFileSync(path.join(out, 'visual.conf'), 'utf8'), /^works_at \| works at$/m);
    const back = path.join(dir, 'emoji-back.jsonl');
    assert.equal(cli('import', out, '-o', back).code, 0);
    const got = (await loadRecords(back)).records[0]!;
    assert.equal(got.id, 'party/1*');
    assert.deepEqual(shape(got), shape(rec));
    // An existing folder is replaced only when told to.
    const again = cli('export', jsonl, '--format', 'brat', '-o', out);
    assert.equal(again.code, 1);
    assert.match(again.err, /the folder exists; pass --force/);
    assert.equal(cli('export', jsonl, '--format', 'brat', '-o', out, '--force').code, 0);
  });

  it('bad .ann lines are named by file and line; the other documents import', () => {
    const out = path.join(dir, 'bad-brat');
    mkdirSync(out);
    writeFileSync(path.join(out, 'ok.txt'), 'Ana works at Acme.');
    writeFileSync(
      path.join(out, 'ok.ann'),
      'T1\tPER 0 3\tAna\nT2\tORG 13 17\tAcme\nR1\tworks_at Arg1:T1 Arg2:T2\n',
    );
    writeFileSync(path.join(out, 'bad.txt'), 'Short.');
    writeFileSync(path.join(out, 'bad.ann'), 'T1\tPER 0 3\tSho\nT2\tORG 4 99\tx\n');
    const r = cli('import', out, '-o', path.join(dir, 'bad.jsonl'));
    assert.match(r.err, /bad\.ann:2: .*T2: offsets 4-99 are outside the text \(6 characters\)/);
    assert.match(r.err, /1 read, 1 skipped|1 skipped/);
    assert.equal(readFileSync(path.join(dir, 'bad.jsonl'), 'utf8').trim().split('\n').length, 1);
  });
});

/** Mentions as (span, type) and relations between first-mention spans: what a Label Studio round trip keeps. */
function flat(r: RelRecord) {
  const key = new Map(
    r.entities.map((e) => [e.id, `${e.mentions[0]!.start}:${e.mentions[0]!.end}`]),
  );
  return {
    id: r.id,
    text: r.text,
    mentions: r.entities
      .flatMap((e) => e.mentions.map((m) => `${m.start}:${m.end}:${m.type ?? e.type ?? null}`))
      .sort(),
    relations: r.relations
      .filter((x) => x.status !== 'rejected')
      .map((x) => `${key.get(x.head)} ${x.label} ${key.get(x.tail)}`)
      .sort(),
  };
}

describe('Label Studio export (tasks with relations) and import', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'rl-ls-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const [name, parts, n, relInfo] of [
    ['SemEval', ['semeval2010_task8', 'TEST_FILE_FULL.TXT'], 50, undefined],
    ['FinRE (Chinese)', ['finre', 'test.txt'], 50, undefined],
    ['Re-DocRED', ['redocred', 'test_revised.json'], 5, dataset('redocred', 'rel_info.json')],
  ] as const)
    it(`${name}: ids, texts, mention spans (code points) and relations come back`, async function () {
      const f = dataset(...parts);
      requireShared(this, f);
      const src = (await loadRecords(f, relInfo ? { relInfo } : {})).records.slice(0, n);
      const jsonl = path.join(dir, `${parts[0]}.jsonl`);
      writeFileSync(jsonl, src.map((r) => serializeRecord(r) + '\n').join(''));
      const ls = path.join(dir, `${parts[0]}.label-studio.json`);
      let r = cli('export', jsonl, '--format', 'label-studio', '-o', ls);
      assert.equal(r.code, 0, r.err);
      const tasks = JSON.parse(readFileSync(ls, 'utf8')) as Array<{
        annotations: Array<{ result: Array<{ type: string }> }>;
      }>;
      assert.equal(tasks.length, src.length);
      assert.ok(tasks.some((t) => t.annotations[0]!.result.some((x) => x.type === 'relation')));
      const back = path.join(dir, `${parts[0]}.back.jsonl`);
      r = cli('import', ls, '--from', 'label-studio', '-o', back);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual((await loadRecords(back)).records.map(flat), src.map(flat));
    });
});
