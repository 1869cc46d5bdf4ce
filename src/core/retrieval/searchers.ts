/**
 * Searchers find the training examples nearest to a query text. BM25 (MiniSearch's BM25+) needs
 * no model; the vector searcher (hnswlib in src/engine) uses embeddings.
 */
import MiniSearch from 'minisearch';

export interface Hit {
  /** Index into the example list. */
  index: number;
  score: number;
}

export interface Searcher {
  readonly kind: 'bm25' | 'hnsw' | 'exact';
  /** Top-k examples for a query; `exclude(index)` removes candidates (e.g. the query's own record). */
  search(text: string, k: number, exclude?: (index: number) => boolean): Promise<Hit[]>;
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]/u;

/** Words for Latin scripts (lower-cased), character bigrams (and unigrams) for CJK runs. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = m[0];
    if (!CJK.test(w)) {
      out.push(w);
      continue;
    }
    const chars = [...w];
    for (let i = 0; i < chars.length; i++) {
      out.push(chars[i]!);
      if (i + 1 < chars.length) out.push(chars[i]! + chars[i + 1]!);
    }
  }
  return out;
}

const OPTIONS = {
  fields: ['text'],
  storeFields: [] as string[],
  tokenize,
  processTerm: (t: string) => t,
};

export class Bm25Searcher implements Searcher {
  readonly kind = 'bm25' as const;
  private constructor(private readonly ms: MiniSearch<{ id: number; text: string }>) {}

  static build(texts: string[]): Bm25Searcher {
    const ms = new MiniSearch<{ id: number; text: string }>(OPTIONS);
    ms.addAll(texts.map((text, id) => ({ id, text })));
    return new Bm25Searcher(ms);
  }

  static fromJSON(json: string): Bm25Searcher {
    return new Bm25Searcher(MiniSearch.loadJSON(json, OPTIONS));
  }

  toJSON(): string {
    return JSON.stringify(this.ms);
  }

  async search(text: string, k: number, exclude?: (index: number) => boolean): Promise<Hit[]> {
    const res = this.ms.search(text, {
      combineWith: 'OR',
      filter: exclude ? (r) => !exclude(r.id as number) : undefined,
    });
    return res.slice(0, k).map((r) => ({ index: r.id as number, score: r.score }));
  }
}

/** Cosine similarity of two vectors (0 when either is zero). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** Exact cosine search over vectors (the reference for HNSW recall; fine for small sets). */
export class ExactVectorSearcher implements Searcher {
  readonly kind = 'exact' as const;
  constructor(
    private readonly vectors: Float32Array[],
    private readonly embed: (text: string) => Promise<number[]>,
  ) {}

  static cosine = cosine;

  async searchVector(
    q: ArrayLike<number>,
    k: number,
    exclude?: (index: number) => boolean,
  ): Promise<Hit[]> {
    const hits: Hit[] = [];
    this.vectors.forEach((v, index) => {
      if (!exclude?.(index)) hits.push({ index, score: ExactVectorSearcher.cosine(q, v) });
    });
    return hits.sort((a, b) => b.score - a.score).slice(0, k);
  }

  async search(text: string, k: number, exclude?: (index: number) => boolean): Promise<Hit[]> {
    return this.searchVector(await this.embed(text), k, exclude);
  }
}
