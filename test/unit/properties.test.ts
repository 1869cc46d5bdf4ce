/**
 * Property-based tests (fast-check) of every importer and of the JSONL / JSON-array readers:
 * random corruptions of the real dataset files — lines dropped, duplicated or cut, invalid UTF-8,
 * a BOM, CRLF line ends, deep nesting, a truncated file — never crash a reader, never drop a record
 * of an untouched unit (block, line, document), and every record that is lost is reported with
 * file:line.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, promises as fs, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { serializeRecord } from '../../src/core/formats/canonical';
import { exportDoccano } from '../../src/core/formats/doccano';
import { RelRecord } from '../../src/core/schema';
import { ImportFormat, loadRecords } from '../../src/node/load';
import { dataset, requireShared } from '../helpers/shared';

/** What identifies a record's content, whatever its position-based id. */
const keyOf = (r: RelRecord) =>
  JSON.stringify([
    r.text,
    r.entities.map((e) => [e.name, e.mentions]),
    r.relations.map((x) => [x.head, x.tail, x.label]),
  ]);

type Corruption =
  | { kind: 'drop' | 'duplicate' | 'badUtf8' | 'cutLine'; line: number; count?: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'bom' | 'crlf' };

const corruption = (lines: number, bytes: number): fc.Arbitrary<Corruption> =>
  fc.oneof(
    fc.record({
      kind: fc.constantFrom('drop', 'duplicate', 'badUtf8', 'cutLine') as fc.Arbitrary<
        'drop' | 'duplicate' | 'badUtf8' | 'cutLine'
      >,
      line: fc.nat({ max: lines - 1 }),
    }),
    // Two adjacent lines gone (e.g. a SemEval block's Comment: line and the blank line after it).
    fc.record({
      kind: fc.constant('drop' as const),
      line: fc.nat({ max: lines - 2 }),
      count: fc.constant(2),
    }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: bytes - 1 }) }),
    fc.record({ kind: fc.constantFrom('bom', 'crlf') as fc.Arbitrary<'bom' | 'crlf'> }),
  );

/** Applies a corruption to the lines of a file (bytes, '\n' separated); returns the bytes and the touched line indices. */
function corrupt(
  lines: Buffer[],
  c: Corruption,
): { bytes: Buffer; touched: Set<number>; cutAfter?: number } {
  const out = [...lines];
  const touched = new Set<number>();
  switch (c.kind) {
    case 'drop':
      out.splice(c.line, c.count ?? 1);
      for (let i = 0; i < (c.count ?? 1); i++) touched.add(c.line + i);
      break;
    case 'duplicate':
      out.splice(c.line, 0, lines[c.line]!);
      touched.add(c.line);
      break;
    case 'badUtf8': {
      const l = lines[c.line]!;
      const at = Math.floor(l.length / 2);
      out[c.line] = Buffer.concat([
        l.subarray(0, at),
        Buffer.from([0xc3, 0x28, 0xff]),
        l.subarray(at),
      ]);
      touched.add(c.line);
      break;
    }
    case 'cutLine': {
      const l = lines[c.line]!;
      out[c.line] = l.subarray(0, Math.floor(l.length / 2));
      touched.add(c.line);
      break;
    }
    case 'truncate': {
      const all = Buffer.concat(lines.flatMap((l, i) => (i ? [Buffer.from('\n'), l] : [l])));
      const cut = all.subarray(0, c.at);
      let line = 0;
      let col = 0;
      for (const b of cut) {
        if (b === 10) {
          line++;
          col = 0;
        } else col++;
      }
      // A cut at the very start of a line keeps nothing of it: the last line kept is the one before.
      return { bytes: cut, touched: new Set([line]), cutAfter: col === 0 ? line - 1 : line };
    }
    case 'bom':
      return {
        bytes: Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf]),
          ...lines.flatMap((l, i) => (i ? [Buffer.from('\n'), l] : [l])),
        ]),
        touched,
      };
    case 'crlf':
      return {
        bytes: Buffer.concat(lines.flatMap((l, i) => (i ? [Buffer.from('\r\n'), l] : [l]))),
        touched,
      };
  }
  return {
    bytes: Buffer.concat(out.flatMap((l, i) => (i ? [Buffer.from('\n'), l] : [l]))),
    touched,
  };
}

/** Units of a line-oriented file: runs of non-blank lines (SemEval blocks, FinRE/SanWen records) or single lines (JSONL). */
function unitsOf(lines: Buffer[], perLine: boolean): Array<[number, number]> {
  const units: Array<[number, number]> = [];
  let start = -1;
  lines.forEach((l, i) => {
    const blank = l.toString('utf8').trim() === '';
    if (perLine) {
      if (!blank) units.push([i, i]);
      return;
    }
    if (!blank && start < 0) start = i;
    if (blank && start >= 0) {
      units.push([start, i - 1]);
      start = -1;
    }
  });
  if (start >= 0) units.push([start, lines.length - 1]);
  return units;
}

describe('property tests: importers and readers on corrupted real files (fast-check)', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'rl-props-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const lineFormats: Array<{
    name: string;
    format: ImportFormat;
    file: () => string;
    units: number;
    perLine?: boolean;
    make?: (file: string) => Promise<Buffer>;
  }> = [
    {
      name: 'SemEval TXT',
      format: 'semeval',
      file: () => dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT'),
      units: 150,
    },
    { name: 'FinRE', format: 'finre', file: () => dataset('finre', 'test.txt'), units: 150 },
    {
      name: 'SanWen',
      format: 'sanwen',
      file: () => dataset('sanwen', 'test.txt'),
      units: 150,
      perLine: true,
    },
    {
      name: 'canonical JSONL',
      format: 'jsonl',
      file: () => dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT'),
      units: 150,
      perLine: true,
      make: async (f) =>
        Buffer.from(
          (await loadRecords(f, { format: 'semeval' })).records
            .slice(0, 150)
            .map((r) => serializeRecord(r) + '\n')
            .join(''),
        ),
    },
    {
      name: 'doccano JSONL',
      format: 'doccano',
      file: () => dataset('finre', 'test.txt'),
      units: 150,
      perLine: true,
      make: async (f) =>
        Buffer.from(
          exportDoccano((await loadRecords(f, { format: 'finre' })).records.slice(0, 150)),
        ),
    },
  ];

  for (const lf of lineFormats)
    it(`${lf.name}: untouched units are always read, every lost record is reported with file:line`, async function () {
      requireShared(this, lf.file());
      let source = lf.make ? await lf.make(lf.file()) : readFileSync(lf.file());
      // A prefix of whole units keeps each run fast.
      const all = source.toString('utf8').replace(/\r\n/g, '\n').split('\n');
      const units = unitsOf(
        all.map((l) => Buffer.from(l)),
        !!lf.perLine,
      );
      source = Buffer.from(
        all.slice(0, units[Math.min(lf.units, units.length) - 1]![1] + 1).join('\n') + '\n',
      );
      const lines = source
        .toString('utf8')
        .split('\n')
        .map((l) => Buffer.from(l));
      const name = `${lf.format}-test.${lf.format === 'jsonl' || lf.format === 'doccano' ? 'jsonl' : 'txt'}`;
      const cleanFile = path.join(dir, `clean-${name}`);
      await fs.writeFile(cleanFile, source);
      const clean = await loadRecords(cleanFile, { format: lf.format });
      assert.equal(clean.skipped, 0);
      const unitList = unitsOf(lines, !!lf.perLine);
      assert.equal(clean.records.length, unitList.length, 'one record per unit in the clean file');
      const keyOfUnit = unitList.map((_, i) => keyOf(clean.records[i]!));
      const file = path.join(dir, name);
      await fc.assert(
        fc.asyncProperty(corruption(lines.length, source.length), async (c) => {
          const { bytes, touched, cutAfter } = corrupt(lines, c);
          await fs.writeFile(file, bytes);
          const r = await loadRecords(file, { format: lf.format });
          const errors = r.diagnostics.filter((d) => d.severity === 'error');
          for (const d of r.diagnostics)
            assert.ok(
              d.file === file && d.line >= 1,
              `diagnostic with file:line: ${JSON.stringify(d)}`,
            );
          const got = new Map<string, number>();
          for (const x of r.records) got.set(keyOf(x), (got.get(keyOf(x)) ?? 0) + 1);
          let lostTouched = 0;
          unitList.forEach(([a, b], i) => {
            const isTouched =
              [...touched].some((t) => t >= a - 1 && t <= b + 1) ||
              (cutAfter !== undefined && b >= cutAfter);
            // The record lives on its unit's first line (SemEval's sentence line): without it, it is gone from the input.
            const deleted = c.kind === 'drop' && a >= c.line && a < c.line + (c.count ?? 1);
            const n = got.get(keyOfUnit[i]!) ?? 0;
            if (n > 0) got.set(keyOfUnit[i]!, n - 1);
            else if (!isTouched)
              assert.fail(`${c.kind}: the untouched unit at lines ${a + 1}-${b + 1} was dropped`);
            // A unit whose every line the corruption deleted is gone from the input, not lost by the reader.
            else if (!deleted && (cutAfter === undefined || a <= cutAfter)) lostTouched++;
          });
          // A touched unit yields its record (perhaps changed: an unmatched record) or an error.
          const unmatched = [...got.values()].reduce((x, y) => x + y, 0);
          assert.ok(
            lostTouched <= errors.length + unmatched,
            `${c.kind}: ${lostTouched} record(s) of touched units lost, ${errors.length} error(s) reported, ${unmatched} changed record(s)`,
          );
        }),
        { numRuns: 120, seed: 10 },
      );
    });

  /** Elements of JSON-array formats: DocRED (real), TACRED and Label Studio (built from the real SemEval test sentences). */
  async function arrayElements(
    format: 'docred' | 'tacred' | 'label-studio',
  ): Promise<Array<Record<string, unknown>>> {
    if (format === 'docred')
      return (
        JSON.parse(readFileSync(dataset('redocred', 'dev_revised.json'), 'utf8')) as Array<
          Record<string, unknown>
        >
      ).slice(0, 12);
    const records = (
      await loadRecords(dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT'), { format: 'semeval' })
    ).records.slice(0, 40);
    if (format === 'label-studio')
      return records.map((r, i) => ({
        id: 1000 + i,
        data: { text: r.text },
        annotations: [
          {
            result: [
              ...r.entities.map((e) => ({
                id: e.id,
                type: 'labels',
                from_name: 'label',
                to_name: 'text',
                value: {
                  start: e.mentions[0]!.start,
                  end: e.mentions[0]!.end,
                  text: e.name,
                  labels: ['E'],
                },
              })),
              ...r.relations.map((x) => ({
                type: 'relation',
                from_id: x.head,
                to_id: x.tail,
                labels: [x.label],
              })),
            ],
          },
        ],
      }));
    return records.map((r, i) => {
      // Whitespace tokens; the entities are the tokens that hold their first character.
      const tokens = r.text.split(' ');
      const tokenAt = (off: number) => r.text.slice(0, off).split(' ').length - 1;
      const [h, t] = r.entities.map((e) => [
        tokenAt(e.mentions[0]!.start),
        tokenAt(e.mentions[0]!.end - 1),
      ]);
      return {
        id: `t${i}`,
        token: tokens,
        subj_start: h![0],
        subj_end: h![1],
        obj_start: t![0],
        obj_end: t![1],
        subj_type: 'X',
        obj_type: 'Y',
        relation: r.relations[0]?.label ?? 'no_relation',
      };
    });
  }

  for (const format of ['docred', 'tacred', 'label-studio'] as const)
    it(`${format} JSON: truncation, deep nesting, invalid UTF-8, BOM, CRLF, a deleted character — untouched elements survive, losses are reported`, async function () {
      requireShared(
        this,
        dataset('redocred', 'dev_revised.json'),
        dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT'),
      );
      const elements = await arrayElements(format);
      const texts = elements.map((d) => JSON.stringify(d));
      const file = path.join(dir, `${format}.json`);
      await fs.writeFile(file, '[\n' + texts.join(',\n') + '\n]\n');
      const clean = await loadRecords(file, { format });
      assert.equal(
        clean.records.length,
        elements.length,
        'every element of the clean file is read',
      );
      const keys = clean.records.map(keyOf);
      type Op =
        | { kind: 'truncate'; at: number }
        | { kind: 'deep' | 'badUtf8' | 'deleteChar'; doc: number; at: number }
        | { kind: 'bom' | 'crlf' };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({
          kind: fc.constant('truncate' as const),
          at: fc.nat({ max: texts.join(',\n').length }),
        }),
        fc.record({
          kind: fc.constantFrom('deep', 'badUtf8', 'deleteChar') as fc.Arbitrary<
            'deep' | 'badUtf8' | 'deleteChar'
          >,
          doc: fc.nat({ max: texts.length - 1 }),
          at: fc.nat({ max: 1000 }),
        }),
        fc.record({ kind: fc.constantFrom('bom', 'crlf') as fc.Arbitrary<'bom' | 'crlf'> }),
      );
      await fc.assert(
        fc.asyncProperty(op, async (o) => {
          const parts = texts.map((t) => Buffer.from(t));
          let touched = -1;
          let cutDoc = Infinity;
          let bytes: Buffer;
          if (o.kind === 'deep') {
            parts[o.doc] = Buffer.from(
              texts[o.doc]!.replace(/^\{/, `{"deep":${'['.repeat(5000)}${']'.repeat(5000)},`),
            );
            touched = o.doc;
          } else if (o.kind === 'badUtf8') {
            const t = texts[o.doc]!;
            const at = o.at % t.length;
            parts[o.doc] = Buffer.concat([
              Buffer.from(t.slice(0, at)),
              Buffer.from([0xff]),
              Buffer.from(t.slice(at)),
            ]);
            touched = o.doc;
          } else if (o.kind === 'deleteChar') {
            const t = texts[o.doc]!;
            const at = o.at % t.length;
            parts[o.doc] = Buffer.from(t.slice(0, at) + t.slice(at + 1));
            touched = o.doc;
          }
          const joined = Buffer.concat([
            Buffer.from('[\n'),
            ...parts.flatMap((p, i) => (i ? [Buffer.from(',\n'), p] : [p])),
            Buffer.from('\n]\n'),
          ]);
          if (o.kind === 'truncate') {
            bytes = joined.subarray(0, 2 + o.at);
            let acc = 2;
            cutDoc = parts.findIndex((p) => (acc += p.length + 2) > 2 + o.at);
            if (cutDoc < 0) cutDoc = Infinity;
          } else if (o.kind === 'bom')
            bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), joined]);
          else if (o.kind === 'crlf')
            bytes = Buffer.from(joined.toString('utf8').replace(/\n/g, '\r\n'));
          else bytes = joined;
          await fs.writeFile(file, bytes);
          const r = await loadRecords(file, { format });
          for (const d of r.diagnostics)
            assert.ok(d.file === file && d.line >= 1, JSON.stringify(d));
          const got = new Map<string, number>();
          for (const x of r.records) got.set(keyOf(x), (got.get(keyOf(x)) ?? 0) + 1);
          const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
          let lost = 0;
          keys.forEach((k, i) => {
            const n = got.get(k) ?? 0;
            if (n > 0) return void got.set(k, n - 1);
            // A deleted quote can shift where the recovering reader splits elements: then only the
            // weaker property holds (whatever is lost is reported).
            if (i !== touched && i < cutDoc && o.kind !== 'deleteChar')
              assert.fail(`${o.kind}: untouched element ${i} was dropped`);
            lost++;
          });
          // An element changed by the corruption may still parse (a digit deleted): it comes out changed (unmatched).
          const unmatched = [...got.values()].reduce((x, y) => x + y, 0);
          if (lost > unmatched)
            assert.ok(errors >= 1, `${o.kind}: ${lost} element(s) lost without an error`);
          if (o.kind === 'deep')
            assert.ok(r.diagnostics.some((d) => /deeper than 64/.test(d.message)));
        }),
        { numRuns: 60, seed: 11 },
      );
    });
});
