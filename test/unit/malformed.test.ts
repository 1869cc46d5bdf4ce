/** Malformed inputs give clear errors with file and line, never a crash; valid records are still read. */
import { strict as assert } from 'node:assert';
import { createWriteStream, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { serializeRecord } from '../../src/core/formats/canonical';
import { RelRecord } from '../../src/core/schema';
import { loadRecords } from '../../src/node/load';

const rec = (id: string, text = 'Alice met Bob.'): RelRecord => ({
  id,
  text,
  entities: [
    { id: 'e1', name: 'Alice', mentions: [{ start: 0, end: 5 }] },
    { id: 'e2', name: 'Bob', mentions: [{ start: 10, end: 13 }] },
  ],
  relations: [{ head: 'e1', tail: 'e2', label: 'met' }],
});

describe('malformed inputs', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'rl-malformed-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('invalid UTF-8 in JSONL costs that line only, named by number', async () => {
    const file = path.join(dir, 'bad-utf8.jsonl');
    const good = Buffer.from(serializeRecord(rec('a')) + '\n');
    const bad = Buffer.concat([
      Buffer.from('{"id":"b","text":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}\n'),
    ]);
    await fs.writeFile(
      file,
      Buffer.concat([good, bad, Buffer.from(serializeRecord(rec('c')) + '\n')]),
    );
    const r = await loadRecords(file);
    assert.deepEqual(
      r.records.map((x) => x.id),
      ['a', 'c'],
    );
    assert.equal(r.diagnostics.length, 1);
    assert.equal(r.diagnostics[0]!.line, 2);
    assert.equal(r.diagnostics[0]!.file, file);
    assert.match(r.diagnostics[0]!.message, /invalid UTF-8/);
  });

  it('invalid UTF-8 in a whole-file JSON format is reported by line and the rest is read', async () => {
    const file = path.join(dir, 'tacred.json');
    const ex = (id: string, word: string) =>
      JSON.stringify({
        id,
        token: [word, 'works', 'for', 'Acme'],
        subj_start: 0,
        subj_end: 0,
        obj_start: 3,
        obj_end: 3,
        relation: 'per:employee_of',
      });
    await fs.writeFile(
      file,
      Buffer.concat([
        Buffer.from('[\n' + ex('1', 'Tom') + ',\n'),
        Buffer.from(ex('2', 'X').replace('X', '\u0001')).map((b) => (b === 1 ? 0xff : b)),
        Buffer.from(',\n' + ex('3', 'Ann') + '\n]\n'),
      ]),
    );
    const r = await loadRecords(file, { format: 'tacred' });
    assert.equal(r.records.length, 3);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.severity]),
      [[3, 'error']],
    );
    assert.match(r.diagnostics[0]!.message, /invalid UTF-8 .*U\+FFFD/);
  });

  it('a truncated JSON array keeps the complete elements before the cut', async () => {
    const file = path.join(dir, 'ls.json');
    const task = (id: number) => ({
      id,
      data: { text: 'Marie Curie' },
      annotations: [{ result: [] }],
    });
    const text = JSON.stringify([task(1), task(2), task(3)], null, 2);
    await fs.writeFile(file, text.slice(0, text.lastIndexOf('"Marie')));
    const r = await loadRecords(file, { format: 'label-studio' });
    assert.deepEqual(
      r.records.map((x) => x.id),
      ['1', '2'],
    );
    assert.equal(r.skipped, 1);
    assert.match(r.diagnostics[0]!.message, /unexpected end of file .*truncated/);
  });

  it('a missing file is a clear error naming it', async () => {
    await assert.rejects(loadRecords(path.join(dir, 'nope.jsonl')), /nope\.jsonl: file not found/);
  });

  it('a 200 MB JSONL file streams: malformed lines are reported by number and the rest is read', async function () {
    const file = path.join(dir, 'big.jsonl');
    const out = createWriteStream(file);
    const filler = 'x'.repeat(1 << 20); // 1 MiB of text per record
    const bigText = `Alice met Bob. ${filler}`;
    let bytes = 0;
    const badLines: number[] = [];
    for (let i = 1; i <= 200; i++) {
      let line: string;
      if (i % 50 === 0) {
        line = serializeRecord(rec(`r${i}`, bigText)).slice(0, 500_000); // truncated record
        badLines.push(i);
      } else line = serializeRecord(rec(`r${i}`, bigText));
      bytes += line.length + 1;
      if (!out.write(line + '\n')) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    assert.ok(bytes > 200e6, `${bytes} bytes written`);
    const r = await loadRecords(file);
    assert.equal(r.records.length, 196);
    assert.deepEqual(
      r.diagnostics.map((d) => d.line),
      badLines,
    );
    assert.ok(r.diagnostics.every((d) => /invalid JSON/.test(d.message)));
    await fs.rm(file);
  });
});
