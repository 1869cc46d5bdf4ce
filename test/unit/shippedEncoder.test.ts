/**
 * The document encoder the project trained and ships (models/redocred-filter: all-MiniLM-L6-v2
 * fine-tuned on Re-DocRED dev, int8 ONNX) run in Node with onnxruntime: it loads, finds the
 * mentions of unseen Re-DocRED test texts, keeps their related pairs, is the default filter for
 * Re-DocRED's relation set, gives a paragraph of plain text entities and relations without an
 * LLM, and its manifest names a command that exists.
 */
import { strict as assert } from 'node:assert';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseRelInfo, relationSetFromRelInfo } from '../../src/core/formats/docred';
import { DocumentEncoder, scoreMentions } from '../../src/core/pipelines/docEncoder';
import { goldPairs, pairKey } from '../../src/core/pipelines/pairFilter';
import { RelRecord, candidatePairs } from '../../src/core/schema';
import { openDocumentEncoder } from '../../src/engine/docEncoder';
import { shippedEncoderDir } from '../../src/node/jobs';
import { loadRecords } from '../../src/node/load';
import { ROOT, cli, ensureBuilt } from '../helpers/cli';
import { assertCliCommandExists } from '../helpers/manifestCommand';
import { smolLM2 } from '../helpers/models';
import { dataset, requireShared } from '../helpers/shared';

const TEST = dataset('redocred', 'test_revised.json');
const REL_INFO = dataset('redocred', 'rel_info.json');
const SHIPPED = path.join(ROOT, 'models', 'redocred-filter');

const PARAGRAPH =
  'Marie Curie was a Polish and naturalised-French physicist and chemist. She was born in Warsaw on 7 November 1867. ' +
  'In 1891 she moved to Paris, where she studied at the University of Paris. In 1895 she married Pierre Curie, a French physicist.\n';

/** Re-DocRED test document `index` alone, as a DocRED file `name` in `dir`. */
function testDocument(dir: string, name: string, index: number): string {
  const file = path.join(dir, name);
  const docs = JSON.parse(readFileSync(TEST, 'utf8')) as unknown[];
  writeFileSync(file, JSON.stringify(docs.slice(index, index + 1)));
  return file;
}

describe('the shipped document encoder (models/redocred-filter)', function () {
  this.timeout(240_000);
  let encoder: DocumentEncoder;
  let docs: RelRecord[];
  let dir: string;
  before(async function () {
    requireShared(this, TEST, REL_INFO);
    ensureBuilt();
    assert.equal(shippedEncoderDir(), SHIPPED, 'found where the CLI and the editor look');
    encoder = await openDocumentEncoder(SHIPPED);
    docs = (await loadRecords(TEST, { relInfo: REL_INFO })).records.slice(0, 10);
    dir = mkdtempSync(path.join(tmpdir(), 'rl-shipped-enc-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('is trained for Re-DocRED’s 96 relations and 6 entity types, int8, with its threshold and scores', () => {
    const rs = relationSetFromRelInfo(parseRelInfo(readFileSync(REL_INFO, 'utf8'), REL_INFO));
    encoder.checkRelationSet(rs);
    assert.equal(encoder.config.relations.length, 96);
    assert.deepEqual(encoder.config.types, ['LOC', 'MISC', 'NUM', 'ORG', 'PER', 'TIME']);
    assert.equal(encoder.config.quantized, true);
    const m = encoder.manifest!;
    assert.ok(m.threshold > 0 && m.threshold < 1);
    assert.equal(m.targetRecall, 0.95);
    assert.equal(m.heldOut?.documents, 50);
    assert.equal((m.data as { documents: number }).documents, 450);
  });

  it('finds the mentions of unseen test texts (exact spans) and keeps their related pairs', async () => {
    const s = await scoreMentions(encoder, docs);
    assert.ok(s.f1 >= 0.7, `mention F1 ${s.f1.toFixed(3)} on 10 test documents`);
    let gold = 0;
    let goldKept = 0;
    let pairs = 0;
    let kept = 0;
    for (const r of docs) {
      const ps = candidatePairs(r);
      const g = goldPairs(r);
      const scores = await encoder.scorePairs(r, ps);
      ps.forEach((p, i) => {
        const keep = scores[i]! >= encoder.manifest!.threshold;
        pairs++;
        if (keep) kept++;
        if (g.has(pairKey(...p))) {
          gold++;
          if (keep) goldKept++;
        }
      });
    }
    assert.ok(goldKept / gold >= 0.85, `gold-pair recall ${(goldKept / gold).toFixed(3)}`);
    assert.ok(kept / pairs <= 0.5, `kept ${(kept / pairs).toFixed(3)} of the pairs`);
  });

  it('plain text without an LLM: entities from its mentions, relations from its pair head (extract-doc --mode encoder, filter auto)', async () => {
    const txt = path.join(dir, 'curie.txt');
    writeFileSync(txt, PARAGRAPH);
    const out = path.join(dir, 'curie.jsonl');
    const r = cli('extract-doc', txt, '--rel-info', REL_INFO, '--mode', 'encoder', '-o', out);
    assert.equal(r.code, 0, r.err);
    const rec = (await loadRecords(out)).records[0]!;
    const names = rec.entities.map((e) => e.name);
    for (const n of ['Marie Curie', 'Warsaw', 'Paris', 'Pierre Curie'])
      assert.ok(names.includes(n), `${n} found (${names.join(', ')})`);
    const byId = new Map(rec.entities.map((e) => [e.id, e.name]));
    const triples = rec.relations.map(
      (x) => `${byId.get(x.head)} | ${x.label} | ${byId.get(x.tail)}`,
    );
    assert.ok(
      triples.includes('Marie Curie | educated at | University of Paris'),
      `a relation the text states (${triples.join('; ')})`,
    );
    // Without --rel-info: the rel_info.json beside the text is found, as extract and the editor do.
    const beside = path.join(dir, 'beside');
    mkdirSync(beside);
    copyFileSync(REL_INFO, path.join(beside, 'rel_info.json'));
    writeFileSync(path.join(beside, 'curie.txt'), PARAGRAPH);
    const out2 = path.join(beside, 'curie.jsonl');
    const r2 = cli('extract-doc', path.join(beside, 'curie.txt'), '--mode', 'encoder', '-o', out2);
    assert.equal(r2.code, 0, r2.err);
    assert.match(r2.err, /relation set \S+ from .*rel_info\.json/);
    assert.deepEqual((await loadRecords(out2)).records[0]!.relations, rec.relations);
  });

  it('is the default filter of extract-doc for Re-DocRED’s relation set', async function () {
    const model = smolLM2(this);
    const one = testDocument(dir, 'one.json', 0);
    const out = path.join(dir, 'one.jsonl');
    const r = cli(
      'extract-doc',
      one,
      '--rel-info',
      REL_INFO,
      '--model',
      model,
      '--pairs-per-prompt',
      '8',
      '--threads',
      '2',
      '-o',
      out,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /candidate stage \(encoder, threshold 0\.\d+\): \d+ pair\(s\) in, \d+ kept/,
    );
    assert.ok(existsSync(out));
  });

  it("relation hints: with --relation-hints 2 each pair's relations are among the encoder's two likeliest; refused with grammar generation", async function () {
    const model = smolLM2(this);
    const one = testDocument(dir, 'hints.json', 1);
    const out = path.join(dir, 'hints.jsonl');
    const args = [one, '--rel-info', REL_INFO, '--model', model, '--no-default-adapter'];
    // A high threshold keeps a few pairs (the test's time).
    const run = (...more: string[]) =>
      cli('extract-doc', ...args, '--threshold', '0.5', '--threads', '2', ...more);
    // lmrc-rc: no None, so every pair names a relation (SmolLM2 zero-shot answers None to all here).
    const r = run('--relation-hints', '2', '--template', 'lmrc-rc', '-o', out);
    assert.equal(r.code, 0, r.err);
    const rec = (await loadRecords(out)).records[0]!;
    const predicted = rec.relations.filter((x) => x.source === 'model');
    assert.ok(predicted.length > 0, 'every pair names a relation');
    const logits = await encoder.pairLogits(
      rec,
      predicted.map((x) => [x.head, x.tail]),
    );
    predicted.forEach((x, i) => {
      const l = logits[i]!;
      const top = encoder.config.relations
        .map((name, k) => [name, l[k + 1]!] as const)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([name]) => name);
      assert.ok(top.includes(x.label), `${x.label} among ${top.join(', ')}`);
    });
    const refused = run('--relation-hints', '2', '--decoding', 'grammar', '-o', out + '2');
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /relation hints need the decoding walk/);
  });

  it('its manifest names the commands that made it, and the CLI has those commands and their options', () => {
    const m = encoder.manifest!;
    const cmds = [m.command!, m['exportCommand'] as string | undefined].filter(
      (c): c is string => !!c,
    );
    assert.match(cmds[0]!, /^relation-lens train-encoder /);
    for (const cmd of cmds) assertCliCommandExists(cmd);
  });
});
