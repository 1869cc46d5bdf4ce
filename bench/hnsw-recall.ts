/**
 * HNSW recall@5 against exact (brute-force) cosine search, on the SemEval-2010 Task 8 training
 * sentences embedded with the LLM's embedding context (SmolLM2-135M by default); queries are
 * test sentences. Usage: npx tsx bench/hnsw-recall.ts [--limit N (first N training sentences)] [--queries 500] [--json]
 */
import * as path from 'node:path';
import { ExactVectorSearcher } from '../src/core/retrieval/searchers';
import { LlamaEmbedder } from '../src/engine/embedder';
import { HnswSearcher } from '../src/engine/hnsw';
import { loadRecords } from '../src/node/load';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, '..', 'shared', 'datasets', 'semeval2010_task8');
const MODEL =
  process.env['RELATION_LENS_MODEL'] ??
  path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');

async function main() {
  const qi = process.argv.indexOf('--queries');
  const nq = qi >= 0 ? Number(process.argv[qi + 1]) : 500;
  const li = process.argv.indexOf('--limit');
  const all = (await loadRecords(path.join(DATA, 'TRAIN_FILE.TXT'))).records;
  const train = li >= 0 ? all.slice(0, Number(process.argv[li + 1])) : all;
  const test = (await loadRecords(path.join(DATA, 'TEST_FILE_FULL.TXT'))).records.slice(0, nq);
  const emb = await LlamaEmbedder.open(MODEL, 'llm');
  try {
    const t0 = Date.now();
    const vectors: number[][] = [];
    for (const r of train) vectors.push(await emb.embed(r.text));
    const embedSeconds = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    const hnsw = HnswSearcher.build(vectors, emb);
    const buildSeconds = (Date.now() - t1) / 1000;
    const exact = new ExactVectorSearcher(
      vectors.map((v) => Float32Array.from(v)),
      (t) => emb.embed(t),
    );
    let hits = 0;
    let tH = 0;
    let tE = 0;
    for (const r of test) {
      const q = await emb.embed(r.text);
      const a = performance.now();
      const h = new Set((await hnsw.searchVector(q, 5)).map((x) => x.index));
      const b = performance.now();
      const e = await exact.searchVector(q, 5);
      tE += performance.now() - b;
      tH += b - a;
      for (const x of e) if (h.has(x.index)) hits++;
    }
    const res = {
      model: MODEL,
      vectors: vectors.length,
      dimension: emb.dimension,
      queries: test.length,
      recall_at_5: hits / (5 * test.length),
      hnsw_ms_per_query: tH / test.length,
      exact_ms_per_query: tE / test.length,
      embed_seconds: embedSeconds,
      build_seconds: buildSeconds,
    };
    console.log(
      process.argv.includes('--json')
        ? JSON.stringify(res)
        : Object.entries(res)
            .map(([k, v]) => `${k.padEnd(20)} ${typeof v === 'number' ? +v.toFixed(4) : v}`)
            .join('\n'),
    );
  } finally {
    await emb.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
