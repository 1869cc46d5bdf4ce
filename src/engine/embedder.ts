/** Sentence embeddings from a GGUF model through node-llama-cpp's embedding context. */
import type { LlamaEmbeddingContext } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { throwIfAborted } from '../core/ports';
import { EngineError, getLlamaInstance, loadModelCached } from './llama';

export interface Embedder {
  /** What produced the vectors (stored in the index manifest). */
  readonly id: string;
  readonly dimension: number;
  embed(text: string): Promise<number[]>;
  dispose(): Promise<void>;
}

export class LlamaEmbedder implements Embedder {
  private constructor(
    readonly id: string,
    readonly dimension: number,
    private readonly ctx: LlamaEmbeddingContext,
    private readonly signal?: AbortSignal,
  ) {}

  /** `kind` says whether the file is a dedicated embedding model or the LLM itself. */
  static async open(
    modelPath: string,
    kind: 'gguf' | 'llm',
    opts: { threads?: number; signal?: AbortSignal } = {},
  ): Promise<LlamaEmbedder> {
    const llama = await getLlamaInstance();
    const model = await loadModelCached(llama, modelPath, opts.signal);
    const threads = opts.threads ?? Math.max(1, llama.cpuMathCores);
    let ctx: LlamaEmbeddingContext;
    try {
      ctx = await model.createEmbeddingContext({
        contextSize: Math.min(1024, model.trainContextSize),
        threads,
        createSignal: opts.signal,
      });
    } catch (err) {
      throw new EngineError(
        `cannot create an embedding context for ${modelPath}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    return new LlamaEmbedder(`${kind}:${modelPath}`, model.embeddingVectorSize, ctx, opts.signal);
  }

  async embed(text: string): Promise<number[]> {
    throwIfAborted(this.signal);
    const e = await this.ctx.getEmbeddingFor(text);
    return [...e.vector];
  }

  async dispose(): Promise<void> {
    await this.ctx.dispose();
  }
}
