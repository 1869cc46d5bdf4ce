/** RAG4RE retrieval: BM25 and HNSW searchers, provenance, the kNN vote, index persistence. */
import { strict as assert } from 'node:assert';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { examplesFromRecords } from '../../src/core/retrieval/examples';
import { TrainingRetriever, knnVote } from '../../src/core/retrieval/retriever';
import { Bm25Searcher, ExactVectorSearcher, tokenize } from '../../src/core/retrieval/searchers';
import { RelRecord } from '../../src/core/schema';
import { Embedder, LlamaEmbedder } from '../../src/engine/embedder';
import { HnswSearcher } from '../../src/engine/hnsw';
import { LlamaEngine } from '../../src/engine/llama';
import { runExtractJob } from '../../src/node/extract';
import { loadRecords } from '../../src/node/load';
import { buildIndex, loadIndex } from '../../src/node/ragIndex';
import { smolLM2 } from '../helpers/models';
import { mulberry32 } from '../helpers/perturb';
import { answerSpace } from '../../src/core/pipelines/answerSpace';
import { DEFAULT_TEMPLATE, RAG4RE_TEMPLATE } from '../../src/core/prompts/builtin';

const ROOT = path.resolve(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'samples', 'semeval-sample.txt');

/** A deterministic hashing embedder (bag of hashed words): exercises the vector plumbing without a model. */
class HashEmbedder implements Embedder {
  readonly id = 'hash:test';
  constructor(readonly dimension = 32) {}
  async embed(text: string): Promise<number[]> {
    const v = new Array(this.dimension).fill(0);
    for (const w of tokenize(text)) {
      let h = 2166136261;
      for (const ch of w) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619) >>> 0;
      v[h % this.dimension] += 1;
    }
    return v;
  }
  async dispose(): Promise<void> {}
}

describe('retrieval', () => {
  let sample: RelRecord[];
  let dir: string;
  before(async () => {
    sample = (await loadRecords(SAMPLE)).records;
    dir = mkdtempSync(path.join(tmpdir(), 'rl-rag-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('tokenizes Latin words and CJK character bigrams', () => {
    assert.deepEqual(tokenize('The Storm, 2024'), ['the', 'storm', '2024']);
    assert.deepEqual(tokenize('东方航空合并'), [
      '东',
      '东方',
      '方',
      '方航',
      '航',
      '航空',
      '空',
      '空合',
      '合',
      '合并',
      '并',
    ]);
  });

  it('BM25: neighbours exclude the query record, carry provenance, and use the answer format', async () => {
    const space = answerSpace(SEMEVAL_RELATIONS, 'label');
    const examples = examplesFromRecords(sample, 'Other');
    const retriever = new TrainingRetriever(
      examples,
      Bm25Searcher.build(examples.map((e) => e.sentence)),
      space,
    );
    const own = sample[0]!;
    const ownHits = await retriever.retrieve(own, own.entities[0]!, own.entities[1]!, 5);
    assert.ok(
      ownHits.length > 0 && ownHits.every((h) => !h.id.startsWith(`${own.id}#`)),
      'the example itself is never retrieved',
    );
    const q: RelRecord = {
      ...own,
      id: 'query',
      text: 'A storm caused flooding in the town.',
      entities: [
        { id: 'e1', name: 'storm', mentions: [{ start: 2, end: 7 }] },
        { id: 'e2', name: 'flooding', mentions: [{ start: 15, end: 23 }] },
      ],
    };
    const hits = await retriever.retrieve(q, q.entities[0]!, q.entities[1]!, 3);
    assert.equal(hits[0]!.id, `${own.id}#0`, 'the lexically closest example comes first');
    assert.equal(hits[0]!.label, 'Cause-Effect');
    const reversed = examples.find((e) => e.recordId === sample[10]!.id)!;
    assert.equal(space.encode(reversed.label, reversed.reversed), 'Effect-Cause');
  });

  it('kNN vote: majority, ties to the nearest, fallback when empty', () => {
    const n = (label: string) => ({ id: label, sentence: '', head: '', tail: '', label, score: 1 });
    assert.deepEqual(knnVote([n('A'), n('B'), n('B')], 'Other'), {
      answer: 'B',
      confidence: 2 / 3,
    });
    assert.deepEqual(knnVote([n('A'), n('B')], 'Other'), { answer: 'A', confidence: 0.5 });
    assert.deepEqual(knnVote([], 'Other'), { answer: 'Other', confidence: 0 });
  });

  it('HNSW: persisted and reloaded; a dimension mismatch is refused with a clear message', async () => {
    const emb = new HashEmbedder(32);
    const texts = sample.map((r) => r.text);
    const vectors = await Promise.all(texts.map((t) => emb.embed(t)));
    const s = HnswSearcher.build(vectors, emb);
    const file = path.join(dir, 'v.hnsw');
    await s.index.writeIndex(file);
    const back = await HnswSearcher.load(file, emb, {
      dimension: 32,
      count: vectors.length,
      space: 'cosine',
    });
    const exact = new ExactVectorSearcher(
      vectors.map((v) => Float32Array.from(v)),
      (t) => emb.embed(t),
    );
    for (const t of texts) {
      const a = (await back.search(t, 3)).map((h) => h.index);
      const b = (await exact.search(t, 3)).map((h) => h.index);
      assert.equal(a[0], b[0]);
    }
    await assert.rejects(
      HnswSearcher.load(file, new HashEmbedder(64), {
        dimension: 32,
        count: vectors.length,
        space: 'cosine',
      }),
      /holds 32-dimensional vectors but the embedder \(hash:test\) gives 64/,
    );
    await assert.rejects(
      HnswSearcher.load(file, emb, { dimension: 32, count: vectors.length + 1, space: 'cosine' }),
      /holds 12 vectors but the manifest says 13/,
    );
  });

  it('HNSW recall@5 against exact search on random vectors is high', async () => {
    const rnd = mulberry32(3);
    const dim = 24;
    const vectors = Array.from({ length: 2000 }, () =>
      Array.from({ length: dim }, () => rnd() - 0.5),
    );
    const emb = { id: 'x', dimension: dim, embed: async () => [], dispose: async () => undefined };
    const h = HnswSearcher.build(vectors, emb);
    const exact = new ExactVectorSearcher(
      vectors.map((v) => Float32Array.from(v)),
      async () => [],
    );
    let hit = 0;
    for (let i = 0; i < 100; i++) {
      const q = Array.from({ length: dim }, () => rnd() - 0.5);
      const a = new Set((await h.searchVector(q, 5)).map((x) => x.index));
      for (const x of await exact.searchVector(q, 5)) if (a.has(x.index)) hit++;
    }
    assert.ok(hit / 500 >= 0.95, `recall@5 = ${hit / 500}`);
  });

  describe('with the real model (SmolLM2-135M)', function () {
    this.timeout(600_000);
    let model: string;
    before(function () {
      model = smolLM2(this);
    });

    it('builds an index from the LLM embeddings, reloads it, and refuses a tampered dimension', async () => {
      const idx = path.join(dir, 'idx-llm');
      const m = await buildIndex(sample, 'Other', idx, { embedder: 'llm', model, source: SAMPLE });
      assert.equal(m.kind, 'hnsw');
      assert.equal(m.dimension, 576);
      const loaded = await loadIndex(idx);
      try {
        const q = sample[3]!;
        const space = answerSpace(SEMEVAL_RELATIONS, 'label');
        const hits = await new TrainingRetriever(loaded.examples, loaded.searcher, space).retrieve(
          q,
          q.entities[0]!,
          q.entities[1]!,
          4,
        );
        assert.equal(hits.length, 4);
        assert.ok(hits.every((h) => !h.id.startsWith(`${q.id}#`)));
      } finally {
        await loaded.dispose();
      }
      const mf = path.join(idx, 'manifest.json');
      await fs.writeFile(mf, JSON.stringify({ ...m, dimension: 384 }));
      await assert.rejects(
        loadIndex(idx),
        /holds 384-dimensional vectors but the embedder .* gives 576/,
      );
    });

    it('RAG prompts: demonstrations from the index, neighbours recorded in each prediction', async () => {
      const space = answerSpace(SEMEVAL_RELATIONS, 'label');
      const examples = examplesFromRecords(sample, 'Other');
      const retriever = new TrainingRetriever(
        examples,
        Bm25Searcher.build(examples.map((e) => e.sentence)),
        space,
      );
      const engine = await LlamaEngine.open({ modelPath: model, parallel: 2, contextSize: 1024 });
      try {
        const out = path.join(dir, 'rag.jsonl');
        for (const template of [RAG4RE_TEMPLATE, DEFAULT_TEMPLATE]) {
          const p = await runExtractJob({
            engine,
            records: sample.slice(0, 4),
            relationSet: SEMEVAL_RELATIONS,
            template,
            mode: 'generate',
            direction: 'label',
            out,
            resume: false,
            force: true,
            model,
            retriever,
            k: 3,
          });
          assert.deepEqual(p.errors, []);
          const lines = (await fs.readFile(out, 'utf8'))
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
          for (const r of lines) {
            for (const rel of r.relations) assert.equal(rel.meta.neighbours.length, 3);
          }
        }
      } finally {
        await engine.dispose();
      }
    });

    it('an embedding GGUF that is not a model fails clearly', async () => {
      const f = path.join(dir, 'emb.gguf');
      await fs.writeFile(f, 'not gguf');
      await assert.rejects(LlamaEmbedder.open(f, 'gguf'), /not a GGUF file/);
    });
  });
});
