/**
 * Retrieval index folders: manifest.json (kind, embedder, space, dimension, count), examples.jsonl
 * (the training examples in index order), and bm25.json or vectors.hnsw.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { TrainingExample, examplesFromRecords, retrievalText } from '../core/retrieval/examples';
import { Bm25Searcher, Searcher } from '../core/retrieval/searchers';
import { RelRecord } from '../core/schema';
import { Embedder, LlamaEmbedder } from '../engine/embedder';
import {
  EndpointKey,
  ServerEmbedder,
  keyFor,
  originOf,
  parseServerEmbedderSpec,
} from '../engine/server';
import { DEFAULT_HNSW, HnswSearcher } from '../engine/hnsw';
import { writeFileAtomic } from './files';

export interface IndexManifest {
  version: 1;
  kind: 'bm25' | 'hnsw';
  count: number;
  source: string;
  createdAt: string;
  embedder?: string;
  space?: 'cosine';
  dimension?: number;
  hnsw?: typeof DEFAULT_HNSW;
}

/**
 * `bm25`, `llm` (the model given with --model), `gguf:PATH` (an embedding model) or
 * `openai:ENDPOINT[#MODEL]` (a serving engine's /v1/embeddings).
 */
export type EmbedderSpec = 'bm25' | 'llm' | `gguf:${string}` | `openai:${string}`;

export async function openEmbedder(
  spec: string,
  o: { llmPath?: string; threads?: number; keys?: readonly EndpointKey[] } = {},
): Promise<Embedder> {
  const { llmPath, threads } = o;
  if (spec === 'llm') {
    if (!llmPath) throw new InputError('--embedder llm needs --model');
    return LlamaEmbedder.open(llmPath, 'llm', { threads });
  }
  if (spec.startsWith('gguf:')) return LlamaEmbedder.open(spec.slice(5), 'gguf', { threads });
  if (spec.startsWith('llm:')) return LlamaEmbedder.open(spec.slice(4), 'llm', { threads });
  if (spec.startsWith('openai:')) return ServerEmbedder.open(spec, { keys: o.keys });
  throw new InputError(
    `unknown embedder ${JSON.stringify(spec)} (bm25, llm, gguf:PATH, or openai:ENDPOINT[#MODEL] for a server's /v1/embeddings)`,
  );
}

/** What an index folder holds now: nothing (new or empty), an index of this tool, or other files. */
export async function indexFolderState(dir: string): Promise<'new' | 'index' | 'foreign'> {
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st) return 'new';
  if (!st.isDirectory()) return 'foreign';
  const entries = await fs.readdir(dir);
  if (entries.length === 0) return 'new';
  return entries.includes('manifest.json') ? 'index' : 'foreign';
}

export async function buildIndex(
  records: RelRecord[],
  noRelation: string | null | undefined,
  dir: string,
  opts: {
    embedder: string;
    model?: string;
    source: string;
    threads?: number;
    /** Serving engines' keys, each sent only to its own endpoint. */
    keys?: readonly EndpointKey[];
    onProgress?: (done: number, total: number) => void;
  },
): Promise<IndexManifest> {
  const examples = examplesFromRecords(records, noRelation);
  await fs.mkdir(dir, { recursive: true });
  const manifest: IndexManifest = {
    version: 1,
    kind: opts.embedder === 'bm25' ? 'bm25' : 'hnsw',
    count: examples.length,
    source: opts.source,
    createdAt: new Date().toISOString(),
  };
  if (opts.embedder === 'bm25') {
    await writeFileAtomic(
      path.join(dir, 'bm25.json'),
      Bm25Searcher.build(examples.map((e) => retrievalText(e.sentence))).toJSON(),
    );
  } else {
    const embedder = await openEmbedder(opts.embedder, {
      llmPath: opts.model,
      threads: opts.threads,
      keys: opts.keys,
    });
    try {
      // Examples of one record share its sentence: embed each distinct sentence once.
      const cache = new Map<string, number[]>();
      const vectors: number[][] = [];
      for (const e of examples) {
        const t = retrievalText(e.sentence);
        let v = cache.get(t);
        if (!v) cache.set(t, (v = await embedder.embed(t)));
        vectors.push(v);
        opts.onProgress?.(vectors.length, examples.length);
      }
      const s = HnswSearcher.build(vectors, embedder);
      const tmp = path.join(dir, `.vectors.${process.pid}.tmp`);
      await s.index.writeIndex(tmp);
      await fs.rename(tmp, path.join(dir, 'vectors.hnsw'));
      Object.assign(manifest, {
        embedder: embedder.id,
        space: 'cosine',
        dimension: embedder.dimension,
        hnsw: DEFAULT_HNSW,
      });
    } finally {
      await embedder.dispose();
    }
  }
  await writeFileAtomic(
    path.join(dir, 'examples.jsonl'),
    examples.map((e) => JSON.stringify(e) + '\n').join(''),
  );
  await writeFileAtomic(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/**
 * Where the queries of an index embedded by a server may go. An index folder is a file people
 * share: its manifest names a server, but only the user decides where record texts and keys go.
 */
export interface EmbeddingsAccess {
  /**
   * Endpoints the user named (the engine's --endpoint, the editor's server setting): an index
   * whose embeddings server has one of their origins may send its queries there.
   */
  named: readonly string[];
  /** Replaces the manifest's embeddings server (the same model): `--embeddings-endpoint`. */
  override?: string;
  /** API keys, each sent only to its own endpoint (same origin). */
  keys: readonly EndpointKey[];
  /** What the user can do to allow another server (in the refusal). */
  hint: string;
}

/** Where an index's queries are embedded, for the run to say. */
export interface EmbeddingsServer {
  endpoint: string;
  model?: string;
  /** Whether an API key goes with the requests. */
  key: boolean;
}

/**
 * The embedder spec to open for an index's manifest under `access`: the manifest's server only
 * when the user named its origin, the override when given; refused otherwise, before any request.
 */
export function embeddingsSpec(
  manifestEmbedder: string,
  access: EmbeddingsAccess | undefined,
  where: string,
): { spec: string; server?: EmbeddingsServer } {
  if (!manifestEmbedder.startsWith('openai:')) return { spec: manifestEmbedder };
  const { endpoint, model } = parseServerEmbedderSpec(manifestEmbedder);
  const root = access?.override ? parseServerEmbedderSpec(access.override).endpoint : endpoint;
  const origin = originOf(root);
  if (!origin || !/^https?:\/\//.test(root))
    throw new InputError(
      access?.override
        ? `--embeddings-endpoint ${JSON.stringify(access.override)} is not an http(s) URL`
        : `"embedder": ${JSON.stringify(manifestEmbedder)} does not name an http(s) server`,
      access?.override ? undefined : where,
    );
  if (!access?.override && !access?.named.some((n) => originOf(n) === origin))
    throw new InputError(
      `this index embeds its queries through ${root}${model ? ` (model ${model})` : ''}, a server you have not named: the record texts would be sent there. ${access?.hint ?? ''}`.trim(),
      where,
    );
  return {
    spec: `openai:${root}${model ? `#${model}` : ''}`,
    server: { endpoint: root, model, key: keyFor(root, access?.keys) !== undefined },
  };
}

export async function loadIndex(
  dir: string,
  /** embeddings: who may embed the queries of an index whose manifest names a server. */
  opts: { threads?: number; embeddings?: EmbeddingsAccess } = {},
): Promise<{
  manifest: IndexManifest;
  examples: TrainingExample[];
  searcher: Searcher;
  /** The server that embeds the queries, when one does. */
  server?: EmbeddingsServer;
  dispose: () => Promise<void>;
}> {
  const mf = path.join(dir, 'manifest.json');
  let manifest: IndexManifest;
  try {
    manifest = JSON.parse(await fs.readFile(mf, 'utf8')) as IndexManifest;
  } catch (e) {
    throw new InputError(
      `not a retrieval index (cannot read manifest.json): ${e instanceof Error ? e.message : String(e)}`,
      dir,
    );
  }
  const examples = (await fs.readFile(path.join(dir, 'examples.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as TrainingExample);
  if (examples.length !== manifest.count)
    throw new InputError(
      `examples.jsonl has ${examples.length} examples but the manifest says ${manifest.count}`,
      dir,
    );
  if (manifest.kind === 'bm25')
    return {
      manifest,
      examples,
      searcher: Bm25Searcher.fromJSON(await fs.readFile(path.join(dir, 'bm25.json'), 'utf8')),
      dispose: async () => undefined,
    };
  if (!manifest.embedder || !manifest.dimension)
    throw new InputError('manifest.json: an hnsw index needs "embedder" and "dimension"', dir);
  const { spec, server } = embeddingsSpec(manifest.embedder, opts.embeddings, mf);
  const embedder = await openEmbedder(spec, {
    threads: opts.threads,
    keys: opts.embeddings?.keys,
  });
  const searcher = await HnswSearcher.load(path.join(dir, 'vectors.hnsw'), embedder, {
    dimension: manifest.dimension,
    count: manifest.count,
    space: manifest.space ?? 'cosine',
    efSearch: manifest.hnsw?.efSearch,
  });
  return { manifest, examples, searcher, server, dispose: () => embedder.dispose() };
}
