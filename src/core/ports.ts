/**
 * Ports: what the core needs from an inference engine. The node-llama-cpp adapter in
 * src/engine implements them; the core never sees a model object. The retriever port (RAG4RE
 * demonstrations) is implemented in src/core/retrieval.
 */
import type { Entity, RelRecord } from './schema';

export type TokenId = number;

/** The serving engines Relation Lens can talk to (their constraint and scoring fields differ). */
export const SERVER_FLAVORS = ['llama.cpp', 'vllm', 'ollama', 'sglang', 'openai'] as const;
export type ServerFlavor = (typeof SERVER_FLAVORS)[number];

/** A prompt as chat messages; the engine applies the model's chat template. */
export interface ChatPrompt {
  system?: string;
  user: string;
}

export interface EngineInfo {
  /** Backend that runs the model: "CPU", "cuda", "vulkan", "metal". */
  backend: string;
  /** Threads (adaptive: the most it uses; fewer while other processes keep cores busy). */
  threads: number;
  threadPolicy?: 'adaptive' | 'fixed';
  model: string;
  adapters: Array<{ path: string; scale: number }>;
  contextSize: number;
  parallel: number;
  /**
   * How answers can be scored: "full" (default: any token sequence, multi-token labels exact) or
   * "first-token" (a serving engine's top_logprobs of the first answer token: one-token answers
   * only, at most `topLogprobs` of them).
   */
  scoring?: 'full' | 'first-token';
  topLogprobs?: number;
  /**
   * How a generation can be constrained: a GBNF grammar ("grammar", the default: node-llama-cpp,
   * llama-server, vLLM, SGLang) or only a JSON schema ("json-schema": Ollama, OpenAI).
   */
  constraint?: 'grammar' | 'json-schema';
  /**
   * `continuation` keeps the answer path in the engine's cache: a longer path evaluates only its
   * new tokens, in one batch (in-process node-llama-cpp). Document answers are then decoded by
   * walking their allowed lines (docDecode.ts) rather than generated token by token.
   */
  incrementalScoring?: boolean;
}

/** One prompt loaded into a sequence; label continuations are scored on top of it. */
export interface PromptSession {
  /** Tokens of the rendered prompt. */
  readonly promptTokens: number;
  /**
   * Prompt tokens that were already in the sequence's KV cache (not evaluated again). A serving
   * engine knows this only after its first request: read it after the session's calls.
   */
  readonly reusedTokens: number;
  /**
   * Teacher-forces `path` after the prompt and returns, for each position i in 0..path.length
   * (i = 0: right after the prompt), the log-probabilities of `candidates[i]` as the next token.
   */
  continuation(path: TokenId[], candidates: TokenId[][]): Promise<number[][]>;
  /** Greedy generation constrained to exactly one of `labels` (a grammar); returns the label. */
  generateConstrained(labels: string[]): Promise<string>;
  /** Unconstrained greedy generation (the naive baseline); returns the text. */
  generateFree(maxTokens: number): Promise<string>;
  /**
   * Greedy generation under a grammar: GBNF text (llama.cpp's grammar format) or a JSON schema.
   * Engines without grammar support generate freely; callers parse the result leniently.
   */
  generateWithGrammar(grammar: GrammarSpec, maxTokens: number): Promise<Generation>;
}

export type GrammarSpec = { gbnf: string } | { jsonSchema: Record<string, unknown> };

export interface Generation {
  text: string;
  /** Tokens generated. */
  tokens: number;
  /** Whether generation stopped at maxTokens rather than at the end of the answer. */
  truncated: boolean;
}

export interface ClassifierEngine {
  readonly info: EngineInfo;
  /**
   * Token ids of a label as the model writes it at the start of its answer (asynchronous: a
   * serving engine asks its server).
   */
  tokenizeLabel(label: string): Promise<TokenId[]>;
  /** Tokens that end an answer (end of turn / end of text). */
  readonly endTokens: TokenId[];
  /** Token count of a rendered prompt (for context checks and cost reports). */
  countPromptTokens(prompt: ChatPrompt): Promise<number>;
  /**
   * Runs `fn` with the prompt loaded into one of the engine's parallel sequences. The sequence
   * keeps its KV cache between calls, so a prompt that shares a prefix with the previous one
   * only evaluates the new tokens. Throws ContextOverflowError when the prompt and `answerRoom`
   * tokens (default 64) for the answer do not fit.
   */
  withPrompt<T>(
    prompt: ChatPrompt,
    fn: (s: PromptSession) => Promise<T>,
    signal?: AbortSignal,
    answerRoom?: number,
  ): Promise<T>;
  /** Tokens evaluated so far (all sequences), for throughput reports. */
  readonly evaluatedTokens: number;
  dispose(): Promise<void>;
}

export class ContextOverflowError extends Error {
  constructor(
    readonly tokens: number,
    readonly contextSize: number,
  ) {
    super(
      `the prompt needs ${tokens} tokens but the context holds ${contextSize}; shorten the input or raise --context-size`,
    );
    this.name = 'ContextOverflowError';
  }
}

/** A constrained answer outside the labels asked for (an engine that ignored its constraint). */
export class OutOfSetAnswer extends Error {
  constructor(readonly answer: string) {
    super(
      `the engine answered ${JSON.stringify(answer.slice(0, 80))}, which is not one of the answers asked for`,
    );
    this.name = 'OutOfSetAnswer';
  }
}

export class AbortError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}

/** A demonstration retrieved for a pair (RAG4RE): a labeled training example. */
export interface RetrievedExample {
  id: string;
  sentence: string;
  head: string;
  tail: string;
  label: string;
  score: number;
}

/** A retriever gives demonstrations for a pair (RAG4RE). */
export interface ExampleRetriever {
  retrieve(record: RelRecord, head: Entity, tail: Entity, k: number): Promise<RetrievedExample[]>;
}
