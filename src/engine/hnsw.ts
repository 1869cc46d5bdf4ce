/**
 * Vector search with hnswlib-node (cosine space). hnswlib reads an index file with whatever
 * dimension it is told, without complaint — so the dimension, space and count are stored in the
 * index manifest and checked against the embedder and the loaded index.
 */
import { HierarchicalNSW } from 'hnswlib-node';
import { Hit, Searcher } from '../core/retrieval/searchers';
import { Embedder } from './embedder';
import { EngineError } from './llama';

export interface HnswParams {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export const DEFAULT_HNSW: HnswParams = { m: 16, efConstruction: 200, efSearch: 100 };

export class HnswSearcher implements Searcher {
  readonly kind = 'hnsw' as const;
  private constructor(
    readonly index: HierarchicalNSW,
    readonly embedder: Embedder,
    readonly count: number,
  ) {}

  static build(
    vectors: number[][],
    embedder: Embedder,
    p: HnswParams = DEFAULT_HNSW,
  ): HnswSearcher {
    const index = new HierarchicalNSW('cosine', embedder.dimension);
    index.initIndex({
      maxElements: Math.max(1, vectors.length),
      m: p.m,
      efConstruction: p.efConstruction,
      randomSeed: 100,
    });
    vectors.forEach((v, i) => {
      if (v.length !== embedder.dimension)
        throw new EngineError(
          `vector ${i} has dimension ${v.length}, expected ${embedder.dimension}`,
        );
      index.addPoint(v, i);
    });
    index.setEf(p.efSearch);
    return new HnswSearcher(index, embedder, vectors.length);
  }

  static async load(
    file: string,
    embedder: Embedder,
    manifest: { dimension: number; count: number; space: string; efSearch?: number },
  ): Promise<HnswSearcher> {
    if (manifest.space !== 'cosine')
      throw new EngineError(`${file}: unsupported space ${manifest.space}`);
    if (manifest.dimension !== embedder.dimension)
      throw new EngineError(
        `${file}: the index holds ${manifest.dimension}-dimensional vectors but the embedder (${embedder.id}) gives ${embedder.dimension}; rebuild the index with this embedder`,
      );
    const index = new HierarchicalNSW('cosine', manifest.dimension);
    await index.readIndex(file);
    if (index.getCurrentCount() !== manifest.count)
      throw new EngineError(
        `${file}: holds ${index.getCurrentCount()} vectors but the manifest says ${manifest.count}; the index is damaged or from another build`,
      );
    index.setEf(manifest.efSearch ?? DEFAULT_HNSW.efSearch);
    return new HnswSearcher(index, embedder, manifest.count);
  }

  async searchVector(q: number[], k: number, exclude?: (index: number) => boolean): Promise<Hit[]> {
    const n = Math.min(k, this.count);
    if (n === 0) return [];
    const r = this.index.searchKnn(q, n, exclude ? (label: number) => !exclude(label) : undefined);
    return r.neighbors.map((index, i) => ({ index, score: 1 - r.distances[i]! }));
  }

  async search(text: string, k: number, exclude?: (index: number) => boolean): Promise<Hit[]> {
    return this.searchVector(await this.embedder.embed(text), k, exclude);
  }
}
