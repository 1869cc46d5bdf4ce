/**
 * The node-llama-cpp adapter behind the ClassifierEngine port.
 *
 * - node-llama-cpp is ESM-only: it is loaded with `await import()` on first use, once.
 * - Threads are always set explicitly (default: the machine's math cores). On a 2-core machine
 *   node-llama-cpp's default (4 threads) made generation ~150× slower (0.3 vs 44 tokens/s with
 *   SmolLM2-135M) and prompt evaluation 3× slower.
 * - LoRA adapters are applied per context, so a context is kept per (model, adapter set).
 * - K parallel sequences of one context; each keeps its KV cache, and a new prompt only
 *   evaluates what differs from the tokens already in the sequence (the shared instruction
 *   prefix is evaluated once per sequence).
 */
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpuLoad, freeCoreThreads } from './cpuLoad';
import type {
  ChatHistoryItem,
  ChatWrapper,
  ControlledEvaluateInputItem,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
  Token,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { gbnfLiteral } from '../core/util/gbnf';
import {
  AbortError,
  ChatPrompt,
  ClassifierEngine,
  ContextOverflowError,
  EngineInfo,
  Generation,
  GrammarSpec,
  PromptSession,
  TokenId,
  throwIfAborted,
} from '../core/ports';
import { ResourcePool } from '../core/util/pool';

type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });
let modulePromise: Promise<NodeLlamaCpp> | undefined;
let llamaPromise: Promise<Llama> | undefined;

/** node-llama-cpp, imported lazily (ESM-only package). */
export function nodeLlamaCpp(): Promise<NodeLlamaCpp> {
  // A Function-wrapped import keeps esbuild/tsc from turning it into require() in the CJS bundle.
  modulePromise ??= (new Function('m', 'return import(m)') as (m: string) => Promise<NodeLlamaCpp>)(
    'node-llama-cpp',
  );
  return modulePromise;
}

/** The one Llama instance of the process: GPU when one is usable, else CPU. */
export async function getLlamaInstance(): Promise<Llama> {
  llamaPromise ??= nodeLlamaCpp().then((m) =>
    m.getLlama({
      gpu: 'auto',
      build: 'never',
      progressLogs: false,
      logLevel: m.LlamaLogLevel.error,
    }),
  );
  return llamaPromise;
}

/** What a run's result depends on in the runtime: node-llama-cpp's version and the llama.cpp release it runs. */
export async function runtimeVersions(): Promise<{ nodeLlamaCpp: string; llamaCpp: string }> {
  const llama = await getLlamaInstance();
  const m = await nodeLlamaCpp();
  return {
    nodeLlamaCpp: await m.getModuleVersion(),
    llamaCpp: `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`,
  };
}

export function backendName(llama: Llama): string {
  return llama.gpu === false ? 'CPU' : llama.gpu;
}

export class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
  }
}

const GGUF_MAGIC = 'GGUF';
async function readMagic(file: string): Promise<string> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(4);
    await fh.read(buf, 0, 4, 0);
    return buf.toString('latin1');
  } finally {
    await fh.close();
  }
}

async function checkGguf(file: string, what: string): Promise<void> {
  if (!existsSync(file)) throw new EngineError(`${what} not found: ${file}`);
  const st = await fs.stat(file);
  if (!st.isFile()) throw new EngineError(`${what} is not a file: ${file}`);
  if ((await readMagic(file)) !== GGUF_MAGIC)
    throw new EngineError(`${what} is not a GGUF file (no GGUF header): ${file}`);
}

export interface LoraSpec {
  path: string;
  scale: number;
}

export interface EngineOptions {
  /** A local GGUF path (resolve URIs first with resolveModel). */
  modelPath: string;
  loras?: LoraSpec[];
  /**
   * Evaluation threads. Default (threadPolicy "adaptive"): the machine's math cores while nobody
   * else uses them, fewer while other processes keep cores busy (re-checked every second; see
   * cpuLoad.ts and bench/load.ts).
   */
  threads?: number;
  /**
   * With no `threads`: adaptive (default) or all math cores always ("fixed": what a deterministic
   * run needs — the thread count changes the arithmetic, and with it the scores).
   */
  threadPolicy?: 'adaptive' | 'fixed';
  /** Parallel sequences. */
  parallel?: number;
  /** Context size per sequence (tokens). */
  contextSize?: number;
  /** Reuse the KV cache of a shared prompt prefix (default true; false = evaluate every prompt from scratch). */
  reusePrefix?: boolean;
  signal?: AbortSignal;
}

const models = new Map<string, Promise<LlamaModel>>();

export async function loadModelCached(
  llama: Llama,
  modelPath: string,
  signal?: AbortSignal,
): Promise<LlamaModel> {
  const key = path.resolve(modelPath);
  let p = models.get(key);
  if (!p) {
    p = (async () => {
      await checkGguf(key, 'model file');
      try {
        return await llama.loadModel({ modelPath: key, loadSignal: signal });
      } catch (err) {
        if (signal?.aborted) throw new AbortError('model loading cancelled');
        throw new EngineError(
          `cannot load model ${key}: ${err instanceof Error ? err.message : String(err)} (is it a complete, uncorrupted GGUF model?)`,
          { cause: err },
        );
      }
    })();
    models.set(key, p);
    p.catch(() => models.delete(key));
  }
  return p;
}

/** Parses `FILE[:SCALE]` (the CLI's --lora syntax). */
export function parseLoraArg(arg: string): LoraSpec {
  const m = /^(.*?)(?::(-?\d+(?:\.\d+)?))?$/.exec(arg);
  const file = m?.[1] ?? arg;
  const scale = m?.[2] !== undefined ? Number(m[2]) : 1;
  return { path: file, scale };
}

/** The tokens of a chat prompt with the model's chat template, up to where the answer starts. */
function renderChat(chatWrapper: ChatWrapper, model: LlamaModel, prompt: ChatPrompt): Token[] {
  const history: ChatHistoryItem[] = [];
  if (prompt.system !== undefined) history.push({ type: 'system', text: prompt.system });
  history.push({ type: 'user', text: prompt.user });
  history.push({ type: 'model', response: [] });
  const state = chatWrapper.generateContextState({ chatHistory: history });
  return dropUnwantedBos(state.contextText.tokenize(model.tokenizer), model);
}

/**
 * node-llama-cpp's chat wrappers begin the context with BOS even when the model says not to
 * prepend one (GGUF `tokenizer.ggml.add_bos_token = false`). For SmolLM2, whose BOS is
 * `<|im_start|>`, that gave `<|im_start|><|im_start|>system…` — a prompt the model never saw in
 * training, and not what llama.cpp's own server or transformers' chat template send. The model's
 * setting wins.
 */
function dropUnwantedBos(tokens: Token[], model: LlamaModel): Token[] {
  const bos = model.tokens.bos;
  if (
    bos !== null &&
    !model.tokens.shouldPrependBosToken &&
    tokens.length > 1 &&
    tokens[0] === bos &&
    tokens[1] === bos
  )
    return tokens.slice(1);
  return tokens;
}

/**
 * The token the chat template writes right after a model answer (ChatML: `<|im_end|>`, not the
 * end-of-text token), found by rendering a finished exchange; undefined when the template writes none.
 */
function turnEndToken(chatWrapper: ChatWrapper, model: LlamaModel): Token | undefined {
  const marker = '\u00a7\u00a7';
  const history: ChatHistoryItem[] = [
    { type: 'user', text: 'q' },
    { type: 'model', response: [marker] },
    { type: 'user', text: 'r' },
    { type: 'model', response: [] },
  ];
  const text = chatWrapper.generateContextState({ chatHistory: history }).contextText;
  const tokens = text.tokenize(model.tokenizer);
  const m = model.tokenize(marker);
  for (let i = 0; i + m.length < tokens.length; i++)
    if (m.every((t, j) => tokens[i + j] === t)) return tokens[i + m.length];
  return undefined;
}

/**
 * Prompts and answers as token ids, exactly as LlamaEngine evaluates them (chat template applied,
 * labels tokenized as scoring reads them), without creating a context: the training data of a
 * LoRA adapter is built with it.
 */
export class PromptTokenizer {
  private constructor(
    private readonly model: LlamaModel,
    private readonly chatWrapper: ChatWrapper,
    /** The token that ends an answer (end of turn, else end of text). */
    readonly answerEnd: TokenId,
  ) {}

  static async open(modelPath: string, signal?: AbortSignal): Promise<PromptTokenizer> {
    const m = await nodeLlamaCpp();
    const model = await loadModelCached(await getLlamaInstance(), modelPath, signal);
    const chatWrapper = m.resolveChatWrapper(model);
    const end = turnEndToken(chatWrapper, model) ?? model.tokens.eot ?? model.tokens.eos;
    if (end === null)
      throw new EngineError(
        `${modelPath}: the model has no end-of-turn or end-of-text token to end a training answer with`,
      );
    return new PromptTokenizer(model, chatWrapper, end);
  }

  tokenizePrompt(prompt: ChatPrompt): TokenId[] {
    return renderChat(this.chatWrapper, this.model, prompt);
  }

  /** The answer as the engine scores it: its tokens as written at the start of an answer. */
  tokenizeAnswer(answer: string): TokenId[] {
    return this.model.tokenize(answer);
  }

  /** The chat wrapper node-llama-cpp chose for the model (recorded in the adapter's manifest). */
  get chatTemplate(): string {
    return this.chatWrapper.wrapperName;
  }
}

interface PathState {
  tokens: Token[];
  logprobs: Array<Map<Token, number>>;
  pending: Token[];
}

/**
 * A JSON schema in node-llama-cpp's dialect: its unions are `oneOf` (the servers' and OpenAI's
 * `anyOf`), and an `enum` stands without a `type`.
 */
export function nodeLlamaSchema(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(nodeLlamaSchema);
  if (!v || typeof v !== 'object') return v;
  const o = Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      k === 'anyOf' ? 'oneOf' : k,
      k === 'enum' || k === 'const' ? x : nodeLlamaSchema(x),
    ]),
  );
  if ('enum' in o) delete o['type'];
  return o;
}

/** One prompt in its sequence: the head in the KV cache, its last token, and what follows it. */
interface PromptPosition {
  seq: LlamaContextSequence;
  headLength: number;
  last: Token;
  state: PathState;
  signal?: AbortSignal;
}

/** The loaded parts an engine owns (disposed with it). */
interface LoadedModel {
  m: NodeLlamaCpp;
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  chatWrapper: ChatWrapper;
}

/**
 * The process-wide thread budget (node-llama-cpp's llama.maxThreads, which its contexts consult
 * before every batch). Adaptive engines lower it to the cores other processes leave free
 * (sampled for 250 ms, then every second); while any engine with a fixed thread count is open it
 * stays at its original value — a fixed engine demands all its threads (a lower budget would
 * stall it) and its results must not depend on the load. The budget is also at its original
 * value whenever a context is created (contexts take their thread count from it then).
 */
const budget: {
  llama?: Llama;
  original: number;
  adaptive: number;
  fixed: number;
  timer?: NodeJS.Timeout;
  load?: CpuLoad;
} = {
  original: 0,
  adaptive: 0,
  fixed: 0,
};

function updateBudget(): void {
  const llama = budget.llama;
  if (!llama) return;
  if (budget.fixed > 0 || !budget.load) llama.maxThreads = budget.original;
  else
    llama.maxThreads = freeCoreThreads(
      os.availableParallelism(),
      budget.load.othersBusyCores(),
      budget.original,
    );
}

/** Registers an engine with the budget (before its context is created); returns its release. */
function joinThreadBudget(llama: Llama, policy: 'adaptive' | 'fixed'): () => void {
  if (!budget.llama) Object.assign(budget, { llama, original: llama.maxThreads });
  budget[policy]++;
  llama.maxThreads = budget.original;
  let left = false;
  return () => {
    if (left) return;
    left = true;
    budget[policy]--;
    if (budget.adaptive === 0 && budget.fixed === 0) {
      clearInterval(budget.timer);
      llama.maxThreads = budget.original;
      Object.assign(budget, { llama: undefined, timer: undefined, load: undefined });
    } else updateBudget();
  };
}

/** Starts following the load (once per process), after the first 250 ms sample. */
async function followLoad(): Promise<void> {
  if (budget.timer || budget.load) return;
  budget.load = new CpuLoad();
  await new Promise((r) => setTimeout(r, 250));
  updateBudget();
  if (!budget.llama || budget.timer) return;
  budget.timer = setInterval(updateBudget, 1000);
  budget.timer.unref();
}

export class LlamaEngine implements ClassifierEngine {
  private readonly sequences: ResourcePool<LlamaContextSequence>;
  private evaluated = 0;
  private readonly grammars = new Map<string, ReturnType<Llama['createGrammar']>>();
  private readonly m: NodeLlamaCpp;
  private readonly llama: Llama;
  private readonly model: LlamaModel;
  private readonly context: LlamaContext;
  private readonly chatWrapper: ChatWrapper;
  private constructor(
    loaded: LoadedModel,
    readonly info: EngineInfo,
    readonly endTokens: TokenId[],
    private readonly reusePrefix: boolean,
  ) {
    ({
      m: this.m,
      llama: this.llama,
      model: this.model,
      context: this.context,
      chatWrapper: this.chatWrapper,
    } = loaded);
    this.sequences = new ResourcePool(
      Array.from({ length: info.parallel }, () => loaded.context.getSequence()),
    );
  }

  static async open(opts: EngineOptions): Promise<LlamaEngine> {
    throwIfAborted(opts.signal);
    const m = await nodeLlamaCpp();
    const llama = await getLlamaInstance();
    const model = await loadModelCached(llama, opts.modelPath, opts.signal);
    const loras = opts.loras ?? [];
    for (const l of loras) {
      await checkGguf(l.path, 'LoRA adapter');
      if (!Number.isFinite(l.scale))
        throw new EngineError(`LoRA adapter ${l.path}: scale must be a number`);
    }
    const threads = opts.threads ?? Math.max(1, llama.cpuMathCores);
    const adaptive = opts.threads === undefined && opts.threadPolicy !== 'fixed';
    const leaveBudget = joinThreadBudget(llama, adaptive ? 'adaptive' : 'fixed');
    const parallel = Math.max(1, opts.parallel ?? 1);
    const contextSize = opts.contextSize ?? Math.min(2048, model.trainContextSize);
    let context: LlamaContext;
    try {
      context = await model.createContext({
        contextSize,
        sequences: parallel,
        // Adaptive: at least one thread, as many as the thread budget (llama.maxThreads) allows.
        threads: { ideal: threads, min: adaptive ? 1 : threads },
        batchSize: Math.min(512, contextSize),
        lora: loras.length
          ? { adapters: loras.map((l) => ({ filePath: path.resolve(l.path), scale: l.scale })) }
          : undefined,
        createSignal: opts.signal,
      });
    } catch (err) {
      leaveBudget();
      if (opts.signal?.aborted) throw new AbortError();
      const msg = err instanceof Error ? err.message : String(err);
      if (loras.length && /lora|adapter/i.test(msg))
        throw new EngineError(
          `cannot apply LoRA adapter(s) ${loras.map((l) => l.path).join(', ')} to ${opts.modelPath}: ${msg} (is it a LoRA adapter GGUF made for this base model, e.g. by llama.cpp's convert_lora_to_gguf.py?)`,
          { cause: err },
        );
      throw new EngineError(`cannot create a context for ${opts.modelPath}: ${msg}`, {
        cause: err,
      });
    }
    const chatWrapper = m.resolveChatWrapper(model);
    const ends = new Set<TokenId>();
    if (model.tokens.eos !== null) ends.add(model.tokens.eos);
    if (model.tokens.eot !== null) ends.add(model.tokens.eot);
    for (const s of ['<|im_end|>', '<|eot_id|>', '<|end|>', '</s>', '<end_of_turn>']) {
      const t = model.tokenize(s, true);
      if (t.length === 1 && model.detokenize(t, true) === s) ends.add(t[0]!);
    }
    const info: EngineInfo = {
      backend: backendName(llama),
      threads,
      model: opts.modelPath,
      adapters: loras.map((l) => ({ path: l.path, scale: l.scale })),
      contextSize: context.contextSize,
      parallel,
      incrementalScoring: true,
      ...(adaptive ? { threadPolicy: 'adaptive' as const } : {}),
    };
    const engine = new LlamaEngine(
      { m, llama, model, context, chatWrapper },
      info,
      [...ends],
      opts.reusePrefix ?? true,
    );
    engine.leaveBudget = leaveBudget;
    if (adaptive) await followLoad();
    return engine;
  }

  private leaveBudget?: () => void;

  get evaluatedTokens(): number {
    return this.evaluated;
  }

  async tokenizeLabel(label: string): Promise<TokenId[]> {
    return this.model.tokenize(label);
  }

  private render(prompt: ChatPrompt): Token[] {
    return renderChat(this.chatWrapper, this.model, prompt);
  }

  /** The tokens of a prompt as the engine evaluates it (chat template applied). */
  tokenizePrompt(prompt: ChatPrompt): TokenId[] {
    return this.render(prompt);
  }

  async countPromptTokens(prompt: ChatPrompt): Promise<number> {
    return this.tokenizePrompt(prompt).length;
  }

  private acquire(signal?: AbortSignal): Promise<LlamaContextSequence> {
    return this.sequences.acquire(signal);
  }

  private release(s: LlamaContextSequence): void {
    this.sequences.release(s);
  }

  /**
   * Makes the sequence hold a prefix of `tokens`, keeping what it shares with the tokens already
   * in it; returns the tokens it shares and the rest, which the caller evaluates together with its
   * first scored or generated position (one batch instead of two).
   */
  private async syncPrefix(
    seq: LlamaContextSequence,
    tokens: Token[],
  ): Promise<{ reused: number; rest: Token[] }> {
    if (!this.reusePrefix && seq.contextTokens.length) await seq.clearHistory();
    const have = seq.contextTokens;
    let common = 0;
    const max = Math.min(have.length, tokens.length);
    while (common < max && have[common] === tokens[common]) common++;
    if (common < have.length)
      await seq.eraseContextTokenRanges([{ start: common, end: have.length }]);
    return { reused: common, rest: tokens.slice(common) };
  }

  async withPrompt<T>(
    prompt: ChatPrompt,
    fn: (s: PromptSession) => Promise<T>,
    signal?: AbortSignal,
    answerRoom = 64,
  ): Promise<T> {
    throwIfAborted(signal);
    const tokens = this.render(prompt);
    // Room for the longest answer we will teacher-force or generate.
    if (tokens.length + answerRoom > this.info.contextSize)
      throw new ContextOverflowError(tokens.length + answerRoom, this.info.contextSize);
    const seq = await this.acquire(signal);
    try {
      throwIfAborted(signal);
      // Keep the last prompt token out of the cache: continuation() evaluates it with logits.
      const head = tokens.slice(0, -1);
      const last = tokens[tokens.length - 1]!;
      const { reused, rest } = await this.syncPrefix(seq, head);
      throwIfAborted(signal);
      // What follows the prompt head in the KV cache: [last, ...path] and the log-probabilities
      // read at each of those positions (reused when the next label shares the path prefix).
      // `pending`: the part of the head not evaluated yet, sent with the first evaluation.
      const state: PathState = { tokens: [], logprobs: [], pending: rest };
      const pos: PromptPosition = { seq, headLength: head.length, last, state, signal };
      const session: PromptSession = {
        promptTokens: tokens.length,
        reusedTokens: reused,
        continuation: async (pathTokens, candidates) => {
          throwIfAborted(signal);
          return this.continuation(pos, pathTokens as Token[], candidates as Token[][]);
        },
        generateConstrained: async (labels) => {
          throwIfAborted(signal);
          return (await this.generate(pos, 64, await this.labelGrammar(labels), labels)).text;
        },
        generateFree: async (maxTokens) => {
          throwIfAborted(signal);
          return (await this.generate(pos, maxTokens, undefined)).text;
        },
        generateWithGrammar: async (spec, maxTokens) => {
          throwIfAborted(signal);
          return this.generate(
            pos,
            Math.min(maxTokens, this.info.contextSize - tokens.length),
            await this.compileGrammar(spec),
          );
        },
      };
      return await fn(session);
    } finally {
      this.release(seq);
    }
  }

  private async continuation(
    pos: PromptPosition,
    pathTokens: Token[],
    candidates: Token[][],
  ): Promise<number[][]> {
    const { seq, headLength, last, state } = pos;
    const want = [last, ...pathTokens];
    // Position i's log-probabilities come from evaluating want[i]. Reuse the positions already in
    // the cache whose token and candidates match; evaluate the rest in one batch.
    let c = 0;
    while (
      c < want.length &&
      c < state.tokens.length &&
      state.tokens[c] === want[c] &&
      candidates[c]!.every((t) => state.logprobs[c]!.has(t))
    )
      c++;
    if (c < want.length) {
      const have = seq.contextTokens.length;
      if (have > headLength + c)
        await seq.eraseContextTokenRanges([{ start: headLength + c, end: have }]);
      const rest = want.slice(c);
      const pending = state.pending;
      state.pending = [];
      // A position asked about nothing (a forced token of a walk) gets no logits: the output
      // layer and the softmax over the vocabulary cost as much as the rest of a small model.
      const scored = rest.map((t, j): ControlledEvaluateInputItem =>
        candidates[c + j]?.length
          ? [
              t,
              {
                generateNext: {
                  logits: { filter: { tokens: candidates[c + j]!, includeTop: 1 } },
                  totalLogitWeight: true,
                },
              },
            ]
          : t,
      );
      const input: ControlledEvaluateInputItem[] = [...pending, ...scored];
      const out = await seq.controlledEvaluate(input);
      this.evaluated += pending.length + rest.length;
      const fresh = rest.map((_, j) => {
        if (!candidates[c + j]?.length) return new Map<Token, number>();
        const next = out[pending.length + j]?.next as
          { logits?: Map<Token, number>; totalLogitWeight?: number } | undefined;
        if (!next?.logits || next.totalLogitWeight === undefined)
          throw new EngineError('the engine returned no logits for a scored position');
        // includeTop: 1 puts the maximum logit in the map (includeMax is a no-op in node-llama-cpp 3.22.1).
        const maxLogit = Math.max(...next.logits.values());
        const logZ = Math.log(next.totalLogitWeight);
        const m = new Map<Token, number>();
        for (const t of candidates[c + j] ?? []) {
          const l = next.logits.get(t);
          m.set(t, l === undefined ? -Infinity : l - maxLogit - logZ);
        }
        return m;
      });
      state.tokens = want;
      state.logprobs = [...state.logprobs.slice(0, c), ...fresh];
    }
    return candidates.map((cands, i) => cands.map((t) => state.logprobs[i]!.get(t)!));
  }

  /** The label grammar of an answer set, built once; each generation gets a fresh evaluation state. */
  private labelGrammar(labels: string[]): Promise<LlamaGrammar> {
    const key = labels.join('\u0000');
    let grammar = this.grammars.get(key);
    if (!grammar) {
      const created = this.llama
        .createGrammar({ grammar: `root ::= ${labels.map(gbnfLiteral).join(' | ')}` })
        .catch((e: Error) => {
          this.grammars.delete(key);
          throw new Error(
            `llama.cpp refused the grammar of the labels ${labels.map((l) => JSON.stringify(l)).join(', ')}: ${e.message}`,
            { cause: e },
          );
        });
      this.grammars.set(key, (grammar = created));
    }
    return grammar;
  }

  private async compileGrammar(spec: GrammarSpec): Promise<LlamaGrammar> {
    try {
      return 'gbnf' in spec
        ? await this.llama.createGrammar({ grammar: spec.gbnf })
        : await this.llama.createGrammarForJsonSchema(
            nodeLlamaSchema(spec.jsonSchema) as Parameters<Llama['createGrammarForJsonSchema']>[0],
          );
    } catch (err) {
      throw new EngineError(
        `invalid grammar: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * Greedy generation after the prompt head (under `grammar` when given), up to `maxTokens`.
   * With `labels` (the grammar's alternatives), generation stops as soon as the text so far
   * starts exactly one label: the grammar forces the rest, so the answer is the same and the
   * forced tokens are never evaluated.
   */
  private async generate(
    pos: PromptPosition,
    maxTokens: number,
    grammar: LlamaGrammar | undefined,
    labels?: string[],
  ): Promise<Generation> {
    const { seq, headLength, last, state, signal } = pos;
    const have = seq.contextTokens.length;
    if (have > headLength) await seq.eraseContextTokenRanges([{ start: headLength, end: have }]);
    const pending = state.pending;
    state.pending = [];
    state.tokens = [];
    state.logprobs = [];
    const grammarEvaluationState = grammar
      ? new this.m.LlamaGrammarEvaluationState({ model: this.model, grammar })
      : undefined;
    const out: Token[] = [];
    const ends = new Set(this.endTokens);
    let truncated = false;
    this.evaluated += pending.length + 1;
    for await (const token of seq.evaluate([...pending, last], {
      temperature: 0,
      grammarEvaluationState,
      yieldEogToken: true,
    })) {
      throwIfAborted(signal);
      if (ends.has(token) || this.model.isEogToken(token)) break;
      out.push(token);
      if (labels) {
        const text = this.model.detokenize(out);
        let only: string | undefined;
        let count = 0;
        for (const l of labels) if (l.startsWith(text) && ++count === 1) only = l;
        if (count === 1) return { text: only!, tokens: out.length, truncated: false };
      }
      if (out.length >= maxTokens) {
        truncated = true;
        break;
      }
      this.evaluated++; // the loop goes on: this token is evaluated for the next one
    }
    return { text: this.model.detokenize(out), tokens: out.length, truncated };
  }

  /** `n` tokens of plain English text (the benchmarks' filler). */
  private fillerTokens(n: number): Token[] {
    let toks: Token[] = [];
    while (toks.length < n)
      toks = [
        ...toks,
        ...this.model.tokenize(
          'Relation extraction finds the semantic relations between entities in text. ',
        ),
      ];
    return toks.slice(0, n);
  }

  /**
   * llama.cpp's raw prompt-evaluation rate on this context (tokens/s): `n` tokens of plain text
   * evaluated from scratch in one sequence, in batches of the context's batch size; the best of
   * `repeats` measurements (a limit is the fastest the machine does it; one sample moves by ±10 %).
   */
  async rawPromptEvalRate(n = 512, repeats = 3): Promise<number> {
    const seq = await this.acquire();
    try {
      const toks = this.fillerTokens(Math.min(n, this.info.contextSize - 8));
      let best = 0;
      for (let i = 0; i < Math.max(1, repeats); i++) {
        await seq.clearHistory();
        const t0 = performance.now();
        await seq.evaluateWithoutGeneratingNewTokens(toks);
        best = Math.max(best, (1000 * toks.length) / (performance.now() - t0));
      }
      await seq.clearHistory();
      return best;
    } finally {
      this.release(seq);
    }
  }

  /**
   * llama.cpp's rate on the shape of prefix-cached classification (tokens/s): every sequence
   * holds `prefix` tokens, then all sequences evaluate `chunk` more tokens in one parallel batch;
   * the best of `repeats`. Short chunks use the CPU less well than one long batch does.
   */
  async chunkEvalRate(prefix: number, chunk: number, repeats = 3): Promise<number> {
    const seqs: LlamaContextSequence[] = [];
    for (let i = 0; i < this.info.parallel; i++) seqs.push(await this.acquire());
    try {
      const toks = this.fillerTokens(prefix + chunk);
      const head = toks.slice(0, prefix);
      const tail = toks.slice(prefix);
      for (const s of seqs) {
        await s.clearHistory();
        await s.evaluateWithoutGeneratingNewTokens(head);
      }
      let best = 0;
      for (let i = 0; i < Math.max(1, repeats); i++) {
        const t0 = performance.now();
        await Promise.all(seqs.map((s) => s.evaluateWithoutGeneratingNewTokens(tail)));
        best = Math.max(best, (1000 * tail.length * seqs.length) / (performance.now() - t0));
        for (const s of seqs)
          await s.eraseContextTokenRanges([{ start: prefix, end: prefix + tail.length }]);
      }
      return best;
    } finally {
      for (const s of seqs) {
        await s.clearHistory();
        this.release(s);
      }
    }
  }

  async dispose(): Promise<void> {
    this.leaveBudget?.();
    await this.context.dispose();
  }
}

/**
 * Engines (contexts) kept per (model, adapter set, threads, sequences, context size) and reused:
 * LoRA adapters are fixed per context, so switching adapters means another context, and
 * switching back finds the old one. The least recently used engines beyond `max` are disposed.
 */
export class EnginePool {
  private readonly engines = new Map<string, Promise<LlamaEngine>>();
  constructor(private readonly max = 3) {}

  static key(o: EngineOptions): string {
    const loras = [...(o.loras ?? [])].map((l) => `${path.resolve(l.path)}:${l.scale}`).sort();
    return JSON.stringify([
      path.resolve(o.modelPath),
      loras,
      o.threads ?? o.threadPolicy ?? 'adaptive',
      o.parallel ?? 1,
      o.contextSize ?? null,
    ]);
  }

  async get(o: EngineOptions): Promise<LlamaEngine> {
    const k = EnginePool.key(o);
    let p = this.engines.get(k);
    if (p) {
      this.engines.delete(k); // re-insert: most recently used last
      this.engines.set(k, p);
      return p;
    }
    p = LlamaEngine.open(o);
    this.engines.set(k, p);
    p.catch(() => this.engines.delete(k));
    while (this.engines.size > this.max) {
      const [oldKey, old] = this.engines.entries().next().value as [string, Promise<LlamaEngine>];
      this.engines.delete(oldKey);
      void old.then(
        (e) => e.dispose(),
        () => undefined,
      );
    }
    return p;
  }

  get size(): number {
    return this.engines.size;
  }

  async dispose(): Promise<void> {
    const all = [...this.engines.values()];
    this.engines.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (e) => e.dispose(),
          () => undefined,
        ),
      ),
    );
  }
}
