/** The node-llama-cpp engine with a real GGUF model (SmolLM2-135M-Instruct Q4_1). */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AbortError, PromptSession } from '../../src/core/ports';
import { evaluateSemEval, semevalAnswers } from '../../src/core/eval';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { pairPrompt } from '../../src/core/pipelines/sentence';
import { gbnfLiteral } from '../../src/core/util/gbnf';
import { RelRecord } from '../../src/core/schema';
import { EngineError, LlamaEngine } from '../../src/engine/llama';
import { resolveModel } from '../../src/engine/models';
import { runExtractJob } from '../../src/node/extract';
import { loadRecords } from '../../src/node/load';
import { smolLM2 } from '../helpers/models';
import { spawnSync } from 'node:child_process';
import { loraAdapter, readGgufMetadata, writeGguf } from '../fixtures/gguf';
import { answerSpace } from '../../src/core/pipelines/answerSpace';
import { chatPrompt } from '../../src/core/prompts/template';
import { promptView } from '../../src/core/prompts/views';
import { DEFAULT_TEMPLATE } from '../../src/core/prompts/builtin';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'samples', 'semeval-sample.txt');

describe('engine (node-llama-cpp, real GGUF)', function () {
  // A safety limit for slow or busy machines (unloaded, the slowest test here takes ~25 s).
  this.timeout(600_000);
  let model: string;
  let engine: LlamaEngine;
  let dir: string;
  let sample: RelRecord[];

  before(async function () {
    model = smolLM2(this);
    engine = await LlamaEngine.open({ modelPath: model, parallel: 2, contextSize: 1024 });
    dir = mkdtempSync(path.join(tmpdir(), 'rl-engine-'));
    sample = (await loadRecords(SAMPLE)).records;
  });
  after(async () => {
    await engine?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the backend and uses the explicit thread count', () => {
    assert.equal(engine.info.backend, 'CPU');
    assert.ok(engine.info.threads >= 1);
    assert.equal(engine.info.parallel, 2);
    assert.ok(engine.endTokens.length >= 1);
  });

  for (const [mode, answerCodes] of [
    ['score', false],
    ['generate', false],
    ['score', true],
  ] as const) {
    it(`extracts with ${mode === 'score' ? 'label scoring' : 'grammar-constrained generation'}${answerCodes ? ' of one-token answer codes' : ''}: every answer is in the relation set and the output scores`, async () => {
      const out = path.join(dir, `${mode}${answerCodes ? '-codes' : ''}.jsonl`);
      const p = await runExtractJob({
        engine,
        records: sample,
        relationSet: SEMEVAL_RELATIONS,
        template: DEFAULT_TEMPLATE,
        mode,
        direction: 'label',
        out,
        resume: false,
        model,
        answerCodes,
      });
      assert.equal(p.records, sample.length);
      assert.deepEqual(p.errors, []);
      const preds = (await loadRecords(out)).records;
      assert.equal(preds.length, sample.length);
      const labels = new Set(SEMEVAL_RELATIONS.labels.map((l) => l.name));
      const answers = new Set(answerSpace(SEMEVAL_RELATIONS, 'label').answers);
      for (const r of preds) {
        assert.ok(r.relations.length <= 1);
        for (const rel of r.relations) {
          assert.ok(labels.has(rel.label), rel.label);
          assert.equal(rel.source, 'model');
          assert.ok(answers.has(rel.meta!['answer'] as string));
          if (mode === 'score')
            assert.ok(typeof rel.score === 'number' && rel.score > 0 && rel.score <= 1);
        }
      }
      const result = evaluateSemEval(semevalAnswers(sample), semevalAnswers(preds));
      assert.ok(result.f1 >= 0 && result.f1 <= 1);
    });
  }

  it('label generation stops once the text starts a single label: the same answers as the full grammar, fewer tokens', async () => {
    const space = answerSpace(SEMEVAL_RELATIONS, 'label');
    const gbnf = `root ::= ${space.answers.map(gbnfLiteral).join(' | ')}`;
    let early = 0;
    let full = 0;
    for (const r of sample.slice(0, 6)) {
      const prompt = pairPrompt(r, r.entities[0]!, r.entities[1]!, {
        relationSet: SEMEVAL_RELATIONS,
        template: DEFAULT_TEMPLATE,
        direction: 'label',
      });
      // Both runs below start from the same cached prompt head (a first pass caches it): logits
      // of a 1-token batch and of a 500-token batch differ in the last bits, enough to flip a
      // near-tie of this nearly untrained answer distribution.
      await engine.withPrompt(prompt, (s) => s.generateFree(1));
      const e0 = engine.evaluatedTokens;
      const a = await engine.withPrompt(prompt, (s) => s.generateConstrained(space.answers));
      const e1 = engine.evaluatedTokens;
      const b = await engine.withPrompt(prompt, (s) => s.generateWithGrammar({ gbnf }, 64));
      const e2 = engine.evaluatedTokens;
      assert.equal(a, b.text, r.id);
      assert.ok(space.answers.includes(a), a);
      early += e1 - e0;
      full += e2 - e1;
    }
    assert.ok(early < full, `evaluated ${early} tokens with the early stop, ${full} without`);
  });

  it('reuses the KV cache of the shared instruction prefix', async () => {
    const space = answerSpace(SEMEVAL_RELATIONS, 'label');
    const prompt = (r: RelRecord) => {
      const v = promptView(r, r.entities[0]!, r.entities[1]!, '', SEMEVAL_RELATIONS);
      v.relations = space.relations;
      return chatPrompt(DEFAULT_TEMPLATE, v);
    };
    const single = await LlamaEngine.open({ modelPath: model, parallel: 1, contextSize: 1024 });
    try {
      // Each session scores one position: the prompt is evaluated with its first scored position.
      const probe = [(await single.tokenizeLabel('Other'))[0]!];
      const session = async (s: PromptSession) => {
        await s.continuation([], [probe]);
        return [s.promptTokens, s.reusedTokens];
      };
      const first = await single.withPrompt(prompt(sample[0]!), session);
      const evaluatedFirst = single.evaluatedTokens;
      const second = await single.withPrompt(prompt(sample[1]!), session);
      assert.equal(first[1], 0);
      assert.ok(second[1]! > 0.85 * second[0]!, `reused ${second[1]} of ${second[0]} tokens`);
      assert.equal(evaluatedFirst, first[0]);
      assert.equal(single.evaluatedTokens - evaluatedFirst, second[0]! - second[1]!);
    } finally {
      await single.dispose();
    }
  });

  it('a sentence too long for the context is reported for its record; the others are extracted', async () => {
    const huge: RelRecord = {
      ...sample[0]!,
      id: 'huge',
      text: sample[0]!.text + ' filler'.repeat(3000),
    };
    const out = path.join(dir, 'overflow.jsonl');
    const p = await runExtractJob({
      engine,
      records: [huge, sample[1]!],
      relationSet: SEMEVAL_RELATIONS,
      template: DEFAULT_TEMPLATE,
      mode: 'score',
      direction: 'label',
      out,
      resume: false,
      model,
    });
    assert.equal(p.records, 2);
    assert.equal(p.errors.length, 1);
    assert.match(
      p.errors[0]!,
      /record huge: the prompt needs \d+ tokens but the context holds 1024/,
    );
    const lines = (await fs.readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines[0].relations, []);
    assert.match(lines[0].meta.extraction.errors[0], /context holds/);
  });

  it('abort stops the run promptly; the finished records are kept and a rerun resumes', async () => {
    const out = path.join(dir, 'abort.jsonl');
    const records = sample;
    const controller = new AbortController();
    await assert.rejects(
      runExtractJob({
        engine,
        records,
        relationSet: SEMEVAL_RELATIONS,
        template: DEFAULT_TEMPLATE,
        mode: 'score',
        direction: 'label',
        out,
        resume: false,
        model,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.records >= 2) controller.abort();
        },
      }),
      (e: unknown) => e instanceof AbortError,
    );
    const kept = (await fs.readFile(out, 'utf8')).trim().split('\n');
    assert.ok(kept.length >= 2 && kept.length < records.length, `${kept.length} records kept`);
    const resumed = await runExtractJob({
      engine,
      records,
      relationSet: SEMEVAL_RELATIONS,
      template: DEFAULT_TEMPLATE,
      mode: 'score',
      direction: 'label',
      out,
      resume: true,
      model,
    });
    assert.equal(resumed.skippedRecords, kept.length);
    const all = (await fs.readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id);
    assert.deepEqual([...all].sort(), records.map((r) => r.id).sort());
  });

  describe('failure modes give clear errors', () => {
    it('missing model', async () => {
      await assert.rejects(
        resolveModel(path.join(dir, 'nope.gguf')),
        /model not found: .*nope\.gguf/,
      );
      await assert.rejects(
        LlamaEngine.open({ modelPath: path.join(dir, 'nope.gguf') }),
        /model file not found/,
      );
    });
    it('a file that is not GGUF', async () => {
      const f = path.join(dir, 'text.gguf');
      await fs.writeFile(f, 'hello, I am not a model');
      await assert.rejects(LlamaEngine.open({ modelPath: f }), /not a GGUF file/);
    });
    it('a truncated (corrupt) GGUF', async () => {
      const f = path.join(dir, 'truncated.gguf');
      const fh = await fs.open(model, 'r');
      const buf = Buffer.alloc(2 << 20);
      await fh.read(buf, 0, buf.length, 0);
      await fh.close();
      await fs.writeFile(f, buf);
      await assert.rejects(
        LlamaEngine.open({ modelPath: f }),
        (e: unknown) =>
          e instanceof EngineError && /cannot load model .*truncated\.gguf/.test(e.message),
      );
    });
    it('a LoRA adapter that is not an adapter', async () => {
      const notGguf = path.join(dir, 'adapter.bin');
      await fs.writeFile(notGguf, 'xx');
      await assert.rejects(
        LlamaEngine.open({ modelPath: model, loras: [{ path: notGguf, scale: 1 }] }),
        /LoRA adapter is not a GGUF file/,
      );
      await assert.rejects(
        LlamaEngine.open({ modelPath: model, loras: [{ path: model, scale: 1 }] }),
        /cannot apply LoRA adapter/,
      );
      await assert.rejects(
        LlamaEngine.open({
          modelPath: model,
          loras: [{ path: path.join(dir, 'missing.gguf'), scale: 1 }],
        }),
        /LoRA adapter not found/,
      );
    });
    it('abort before start', async () => {
      const c = new AbortController();
      c.abort();
      await assert.rejects(LlamaEngine.open({ modelPath: model, signal: c.signal }), AbortError);
    });
  });
});

describe('CLI extract with a real model', function () {
  this.timeout(600_000);
  let model: string;
  let dir: string;
  before(function () {
    model = smolLM2(this);
    dir = mkdtempSync(path.join(tmpdir(), 'rl-extract-cli-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  let adapter: string;
  const cli = path.join(ROOT, 'dist', 'cli.js');
  before(async () => {
    if (!model) return;
    const md = await readGgufMetadata(model);
    const n = (k: string) => md.get(k)!.value as number;
    const shape = {
      vocab: 0,
      embd: n('llama.embedding_length'),
      layers: n('llama.block_count'),
      ff: n('llama.feed_forward_length'),
      heads: n('llama.attention.head_count'),
      headsKv: n('llama.attention.head_count_kv'),
      context: 0,
    };
    adapter = path.join(dir, 'smollm2-lora.gguf');
    const l = loraAdapter(shape, 4, 4, 11);
    await writeGguf(adapter, l.metadata, l.tensors);
  });

  it('extracts with a LoRA adapter made for the model (random weights, scale 0.5); every label is in the set; eval scores it', async () => {
    const out = path.join(dir, 'lora.jsonl');
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'extract',
        SAMPLE,
        '--model',
        model,
        '--lora',
        `${adapter}:0.5`,
        '--mode',
        'generate',
        '--limit',
        '4',
        '-o',
        out,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /engine: CPU, up to \d+ thread\(s\) \(adaptive\).*LoRA .*smollm2-lora\.gguf:0\.5/,
    );
    const preds = (await loadRecords(out)).records;
    assert.equal(preds.length, 4);
    const labels = new Set(SEMEVAL_RELATIONS.labels.map((x) => x.name));
    for (const p of preds) for (const rel of p.relations) assert.ok(labels.has(rel.label));
    const ev = spawnSync(
      process.execPath,
      [cli, 'eval', '--metric', 'semeval', '--gold', SAMPLE, '--pred', out, '--json'],
      { encoding: 'utf8' },
    );
    assert.equal(ev.status, 0, ev.stderr);
    assert.ok(
      JSON.parse(ev.stdout).counts.skipped === 8,
      'the four unpredicted records count as skipped, as in the perl scorer',
    );
  });

  // The three sentence-level datasets as they come (../shared/datasets): a few test lines, a BM25
  // index built by the CLI from the start of the training split, RAG k=3 and the LoRA adapter.
  const SETS = [
    {
      name: 'semeval',
      dir: 'semeval2010_task8',
      test: 'TEST_FILE_FULL.TXT',
      train: 'TRAIN_FILE.TXT',
      linesPer: 4,
      relations: undefined,
      metric: 'semeval',
    },
    {
      name: 'finre',
      dir: 'finre',
      test: 'test.txt',
      train: 'train.txt',
      linesPer: 2,
      relations: 'relation2id.txt',
      metric: 'micro',
    },
    {
      name: 'sanwen',
      dir: 'sanwen',
      test: 'test.txt',
      train: 'train.txt',
      linesPer: 1,
      relations: 'relation2id.txt',
      metric: 'micro',
    },
  ] as const;
  for (const ds of SETS) {
    it(`${ds.name}: extract with RAG (BM25, k=3) and LoRA on the dataset's own files; every label is in the set; eval scores it`, async function () {
      const root = path.join(ROOT, '..', 'shared', 'datasets', ds.dir);
      if (!existsSync(path.join(root, ds.test))) {
        console.log(`      SKIP: ${root} is not there`);
        return this.skip();
      }
      const head = async (file: string, lines: number, to: string) => {
        const text =
          (await fs.readFile(path.join(root, file), 'utf8'))
            .split('\n')
            .slice(0, lines)
            .join('\n') + '\n';
        await fs.writeFile(to, text);
        return to;
      };
      // File names keep the dataset's name: FinRE and SanWen share one TSV layout.
      const test = await head(ds.test, 3 * ds.linesPer, path.join(dir, `${ds.name}-test.txt`));
      const train = await head(ds.train, 200 * ds.linesPer, path.join(dir, `${ds.name}-train.txt`));
      const rel = ds.relations ? ['--relations', path.join(root, ds.relations)] : [];
      const idx = path.join(dir, `${ds.name}-index`);
      const b = spawnSync(
        process.execPath,
        [cli, 'index', 'build', train, '--embedder', 'bm25', ...rel, '-o', idx],
        { encoding: 'utf8' },
      );
      assert.equal(b.status, 0, b.stderr);
      const out = path.join(dir, `${ds.name}-pred.jsonl`);
      const r = spawnSync(
        process.execPath,
        [
          cli,
          'extract',
          test,
          '--model',
          model,
          '--lora',
          `${adapter}:0.5`,
          '--rag',
          idx,
          '--demonstrations',
          '3',
          '--mode',
          'generate',
          ...rel,
          '--template',
          ds.name === 'semeval' ? 'rag4re' : 'cre-llm',
          '-o',
          out,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      const gold = await loadRecords(
        test,
        ds.relations ? { relations: path.join(root, ds.relations) } : {},
      );
      const preds = (await loadRecords(out)).records;
      assert.equal(preds.length, 3);
      const rs = gold.relationSet!;
      const labels = new Set([
        ...rs.labels.map((x) => x.name),
        ...(rs.noRelation ? [rs.noRelation] : []),
      ]);
      for (const p of preds) {
        const extraction = p.meta?.['extraction'] as {
          pairs: number;
          retrieved?: Array<{ neighbours: unknown[] }>;
        };
        let withProvenance =
          extraction.retrieved?.filter((x) => x.neighbours.length === 3).length ?? 0;
        for (const rel of p.relations) {
          assert.ok(labels.has(rel.label), `${ds.name}: ${rel.label} is not in the relation set`);
          if ((rel.meta?.['neighbours'] as unknown[] | undefined)?.length === 3) withProvenance++;
        }
        assert.ok(extraction.pairs > 0);
        assert.equal(
          withProvenance,
          extraction.pairs,
          `${p.id}: every classified pair records its 3 retrieved demonstrations`,
        );
      }
      const ev = spawnSync(
        process.execPath,
        [cli, 'eval', '--metric', ds.metric, '--gold', test, '--pred', out, ...rel, '--json'],
        { encoding: 'utf8' },
      );
      assert.equal(ev.status, 0, ev.stderr);
      const score = JSON.parse(ev.stdout);
      assert.ok(score.f1 >= 0 && score.f1 <= 1, ev.stdout);
    });
  }
});
