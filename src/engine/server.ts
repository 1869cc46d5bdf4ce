/**
 * The serving-engine adapter: the engine port over HTTP, for an OpenAI-compatible server the user
 * already runs (llama.cpp's llama-server, vLLM, Ollama, SGLang). We write a client, never a
 * server: the server does the batching, prefix caching and multi-GPU scale; the pipeline (prompts,
 * relation sets, label constraint, alignment, curation, scores) stays the same.
 *
 * Two request paths:
 *  - llama.cpp: its native endpoints — the model's own chat template (/apply-template), exact
 *    tokens (/tokenize), next-token log-probabilities from the raw logits (/completion with
 *    n_probs and temperature < 0), GBNF grammars, one server slot per sequence (id_slot) with
 *    cache_prompt so a shared prompt prefix is evaluated once per slot. Score mode is exact,
 *    multi-token labels included.
 *  - the others: /v1/chat/completions with the flavor's constraint fields (vLLM
 *    `structured_outputs`, SGLang `regex`/`ebnf`, Ollama and OpenAI `response_format`), and
 *    first-token `top_logprobs` for one-token answers (answer codes). Token counts are estimates
 *    (no tokenizer endpoint is assumed); labels are "tokens" of their own.
 *
 * Never trusts that a constraint was applied: every constrained answer is checked against the
 * labels asked for; an answer outside them is reported for that example, and after
 * OUT_OF_SET_LIMIT in a row the run stops, naming the field that was ignored.
 */
import type { Embedder } from './embedder';
import { choiceFields, choiceGrammar, grammarFields } from '../core/serving';
import { ResourcePool } from '../core/util/pool';
import {
  AbortError,
  SERVER_FLAVORS,
  ServerFlavor,
  ChatPrompt,
  ClassifierEngine,
  ContextOverflowError,
  EngineInfo,
  Generation,
  OutOfSetAnswer,
  PromptSession,
  TokenId,
  throwIfAborted,
} from '../core/ports';

export { SERVER_FLAVORS };
export type { ServerFlavor };

export interface ServerOptions {
  /** The OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1. */
  endpoint: string;
  /** The served model's name; default: the first model the server lists. */
  model?: string;
  /** Sent as a bearer token (read from an environment variable by the CLI, never a flag). */
  apiKey?: string;
  /** Default: detected from /v1/models and the server's endpoints. */
  flavor?: ServerFlavor;
  /** Requests in flight; default: the server's slot count when it reports one, else 4. */
  parallel?: number;
  /** Context size when the server does not report one (default 4096). */
  contextSize?: number;
  /** Per request (default 120 s). */
  timeoutMs?: number;
  /** Retries on HTTP 429/500/502/503/504 and dropped connections (default 4). */
  retries?: number;
  signal?: AbortSignal;
}

export class ServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerError';
  }
}

/** Answers outside the labels asked for, this many in a row, stop the run. */
export const OUT_OF_SET_LIMIT = 3;

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const TOP_LOGPROBS_CAP = 20;
const N_PROBS = 200;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function causeCode(err: unknown): string | undefined {
  const c = (err as { cause?: { code?: string } } | undefined)?.cause;
  return c?.code;
}

/** One JSON-over-HTTP client with timeout, retries with backoff and cancellation. */
export class HttpJson {
  requests = 0;
  retried = 0;
  constructor(
    private readonly apiKey: string | undefined,
    private readonly timeoutMs: number,
    private readonly retries: number,
    private readonly maxBytes = MAX_RESPONSE_BYTES,
  ) {}

  async call<T>(url: string, body: unknown | undefined, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal);
      const timeout = AbortSignal.timeout(this.timeoutMs);
      let res: Response;
      this.requests++;
      try {
        res = await this.send(url, body, signal ? AbortSignal.any([signal, timeout]) : timeout);
      } catch (err) {
        if (err instanceof ServerError) throw err;
        if (signal?.aborted) throw new AbortError();
        if (timeout.aborted)
          throw new ServerError(
            `${url}: no answer within ${this.timeoutMs / 1000} s (a slow or stuck server; raise --server-timeout)`,
            { cause: err },
          );
        const code = causeCode(err);
        if (attempt < this.retries) {
          this.retried++;
          await sleep(Math.min(8000, 250 * 2 ** attempt), signal);
          continue;
        }
        const why =
          code === 'ECONNREFUSED'
            ? 'connection refused — is the server running?'
            : code
              ? `${code}`
              : err instanceof Error
                ? err.message
                : String(err);
        throw new ServerError(`cannot reach ${url}: ${why}`, { cause: err });
      }
      let text: string;
      try {
        text = await readCapped(res, url, this.maxBytes);
      } catch (err) {
        if (err instanceof ServerError) throw err;
        if (signal?.aborted) throw new AbortError();
        if (attempt < this.retries) {
          this.retried++;
          await sleep(Math.min(8000, 250 * 2 ** attempt), signal);
          continue;
        }
        throw new ServerError(`${url}: the connection dropped while reading the answer`, {
          cause: err,
        });
      }
      if (!res.ok) {
        if (RETRY_STATUS.has(res.status) && attempt < this.retries) {
          this.retried++;
          const after = Number(res.headers.get('retry-after'));
          await sleep(
            Number.isFinite(after) && after > 0
              ? Math.min(after * 1000, 30_000)
              : Math.min(8000, 250 * 2 ** attempt),
            signal,
          );
          continue;
        }
        throw new ServerError(
          `${url}: HTTP ${res.status}${RETRY_STATUS.has(res.status) ? ` after ${attempt + 1} attempt(s)` : ''}: ${serverMessage(text)}`,
        );
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ServerError(
          `${url}: the server answered with malformed JSON: ${JSON.stringify(text.slice(0, 120))}`,
        );
      }
    }
  }

  /**
   * One request, redirects handled here rather than by fetch: one to the same origin (scheme,
   * host, port) is followed — 307/308 with the same method and body, 301/302/303 only for a GET
   * (a POST turned into a GET would lose the prompt); one to another origin is refused, so the
   * prompts and the API key never leave the server the user named.
   */
  private async send(url: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const origin = new URL(url).origin;
    let at = url;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (this.apiKey) headers['authorization'] = `Bearer ${this.apiKey}`;
      const res = await fetch(at, {
        method: body === undefined ? 'GET' : 'POST',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        redirect: 'manual',
      });
      if (res.status < 300 || res.status > 399 || res.status === 304) return res;
      await res.body?.cancel().catch(() => undefined);
      const location = res.headers.get('location');
      if (!location)
        throw new ServerError(`${url}: HTTP ${res.status} redirect without a Location header`);
      const next = new URL(location, at);
      if (next.origin !== origin)
        throw new ServerError(
          `${url}: the server redirects (HTTP ${res.status}) to ${next.origin}, another host: not followed — prompts, record texts and the API key go only to the endpoint you named. If that server is the one to use, name it as the endpoint.`,
        );
      if (body !== undefined && res.status !== 307 && res.status !== 308)
        throw new ServerError(
          `${url}: the server redirects (HTTP ${res.status}) to ${next.href}, which turns the POST into a GET; not followed — name ${next.href.replace(/\/[^/]*$/, '')} as the endpoint.`,
        );
      if (hop >= MAX_REDIRECTS)
        throw new ServerError(`${url}: more than ${MAX_REDIRECTS} redirects; not followed`);
      at = next.href;
    }
  }
}

/** Redirects followed within one origin before a request fails. */
const MAX_REDIRECTS = 5;

/** The largest answer read (bytes): an embedding, a batch of logprobs and a model list fit many times. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** The body as text, refused past `max` bytes (read as it streams, never whole). */
async function readCapped(res: Response, url: string, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  const tooLarge = () =>
    new ServerError(
      `${url}: the answer is larger than ${max / 1024 / 1024} MiB; not read (a misbehaving server or a wrong endpoint)`,
    );
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function serverMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (m) return m;
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200) || '(empty body)';
}

interface ModelList {
  data?: Array<{ id?: string; owned_by?: string; meta?: { n_ctx?: number } }>;
}

interface LlamaCompletion {
  content?: string;
  tokens_predicted?: number;
  tokens_evaluated?: number;
  stop_type?: string;
  timings?: { cache_n?: number; prompt_n?: number };
  completion_probabilities?: Array<{
    id?: number;
    logprob?: number;
    top_logprobs?: Array<{ id: number; logprob: number }>;
  }>;
}

interface ChatCompletion {
  choices?: Array<{
    message?: { content?: string | null };
    finish_reason?: string;
    logprobs?: { content?: Array<{ top_logprobs?: Array<{ token: string; logprob: number }> }> };
  }>;
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number };
  };
}

/** Detects the flavor from /v1/models (owned_by) and the server's own endpoints. */
async function detectFlavor(
  http: HttpJson,
  root: string,
  models: ModelList,
  signal?: AbortSignal,
): Promise<ServerFlavor> {
  const owner = (models.data?.[0]?.owned_by ?? '').toLowerCase();
  if (owner === 'llamacpp') return 'llama.cpp';
  if (owner === 'vllm') return 'vllm';
  if (owner === 'sglang') return 'sglang';
  try {
    await http.call<unknown>(`${root}/api/version`, undefined, signal);
    return 'ollama';
  } catch (err) {
    if (err instanceof AbortError) throw err;
  }
  return 'openai';
}

/** A bounded cache of async results by key (prompt renderings, token counts). */
class AsyncCache<T> {
  private readonly m = new Map<string, Promise<T>>();
  constructor(private readonly max: number) {}
  get(key: string, make: () => Promise<T>): Promise<T> {
    const hit = this.m.get(key);
    if (hit) return hit;
    const p = make();
    p.catch(() => this.m.delete(key));
    this.m.set(key, p);
    if (this.m.size > this.max) this.m.delete(this.m.keys().next().value!);
    return p;
  }
}

export class ServerEngine implements ClassifierEngine {
  private evaluated = 0;
  private outOfSetRun = 0;
  /** Answers outside the labels asked for, over the whole run. */
  outOfSet = 0;
  private readonly slots: ResourcePool<number>;
  private readonly rendered = new AsyncCache<string>(512);
  private readonly counted = new AsyncCache<number>(512);
  private readonly tokenized = new AsyncCache<TokenId[]>(4096);
  /** Chat flavors: each label is one "token" of its own (its text is looked up in top_logprobs). */
  private readonly labelIds = new Map<string, number>();
  private readonly labelTexts: string[] = [];

  private readonly http: HttpJson;
  private readonly root: string;
  readonly endpoint: string;
  readonly servedModel: string;
  readonly flavor: ServerFlavor;

  private constructor(
    server: {
      http: HttpJson;
      root: string;
      endpoint: string;
      servedModel: string;
      flavor: ServerFlavor;
    },
    readonly info: EngineInfo,
    readonly endTokens: TokenId[],
  ) {
    ({
      http: this.http,
      root: this.root,
      endpoint: this.endpoint,
      servedModel: this.servedModel,
      flavor: this.flavor,
    } = server);
    this.slots = new ResourcePool(
      Array.from({ length: info.parallel }, (_, i) => info.parallel - 1 - i),
    );
  }

  /** Connects, lists the served models, detects the flavor and the context size. */
  static async open(opts: ServerOptions): Promise<ServerEngine> {
    let endpoint: URL;
    try {
      endpoint = new URL(opts.endpoint);
    } catch {
      throw new ServerError(`not a URL: ${opts.endpoint} (expected e.g. http://127.0.0.1:8080/v1)`);
    }
    if (!/^https?:$/.test(endpoint.protocol))
      throw new ServerError(`${opts.endpoint}: only http:// and https:// endpoints are supported`);
    const base = endpoint.href.replace(/\/+$/, '');
    const root = base.replace(/\/v1$/, '');
    const http = new HttpJson(opts.apiKey, opts.timeoutMs ?? 120_000, opts.retries ?? 4);
    // First contact: no retries, so "not running" is said at once.
    const probe = new HttpJson(opts.apiKey, Math.min(opts.timeoutMs ?? 120_000, 30_000), 0);
    const models = await probe.call<ModelList>(`${base}/models`, undefined, opts.signal);
    const ids = (models.data ?? [])
      .map((m) => m.id)
      .filter((x): x is string => typeof x === 'string');
    if (!ids.length) throw new ServerError(`${base}/models lists no model; is a model loaded?`);
    if (opts.model && !ids.includes(opts.model))
      throw new ServerError(
        `the server at ${base} does not serve ${JSON.stringify(opts.model)}; it serves ${ids.map((i) => JSON.stringify(i)).join(', ')} (--served-model)`,
      );
    const servedModel = opts.model ?? ids[0]!;
    const flavor = opts.flavor ?? (await detectFlavor(probe, root, models, opts.signal));
    let contextSize = opts.contextSize;
    let slots: number | undefined;
    let endTokens: TokenId[] = [-1];
    if (flavor === 'llama.cpp') {
      const props = await http.call<{
        total_slots?: number;
        default_generation_settings?: { n_ctx?: number };
      }>(`${root}/props`, undefined, opts.signal);
      slots = props.total_slots;
      contextSize ??= props.default_generation_settings?.n_ctx ?? models.data?.[0]?.meta?.n_ctx;
      endTokens = [];
      for (const s of [
        '<|im_end|>',
        '<|eot_id|>',
        '<|end|>',
        '</s>',
        '<end_of_turn>',
        '<|endoftext|>',
      ]) {
        const t = await http.call<{ tokens: number[] }>(
          `${root}/tokenize`,
          { content: s, add_special: false, parse_special: true },
          opts.signal,
        );
        if (t.tokens.length === 1) endTokens.push(t.tokens[0]!);
      }
    }
    const parallel = Math.max(1, opts.parallel ?? slots ?? 4);
    const info: EngineInfo = {
      backend: `server (${flavor}, ${base})`,
      threads: 0,
      model: `${servedModel} @ ${base}`,
      adapters: [],
      contextSize: contextSize ?? 4096,
      parallel,
      scoring: flavor === 'llama.cpp' ? 'full' : 'first-token',
      constraint: flavor === 'ollama' || flavor === 'openai' ? 'json-schema' : 'grammar',
      ...(flavor === 'llama.cpp' ? {} : { topLogprobs: TOP_LOGPROBS_CAP }),
    };
    return new ServerEngine({ http, root, endpoint: base, servedModel, flavor }, info, endTokens);
  }

  get evaluatedTokens(): number {
    return this.evaluated;
  }

  /** HTTP requests sent and retried so far. */
  get requests(): { sent: number; retried: number } {
    return { sent: this.http.requests, retried: this.http.retried };
  }

  private messages(prompt: ChatPrompt): Array<{ role: string; content: string }> {
    return [
      ...(prompt.system !== undefined ? [{ role: 'system', content: prompt.system }] : []),
      { role: 'user', content: prompt.user },
    ];
  }

  private labelToken(text: string): number {
    let id = this.labelIds.get(text);
    if (id === undefined) {
      id = this.labelTexts.length;
      this.labelIds.set(text, id);
      this.labelTexts.push(text);
    }
    return id;
  }

  async tokenizeLabel(label: string): Promise<TokenId[]> {
    if (this.flavor === 'llama.cpp')
      return this.tokenized.get(
        label,
        async () =>
          (
            await this.http.call<{ tokens: number[] }>(`${this.root}/tokenize`, {
              content: label,
              add_special: false,
              parse_special: false,
            })
          ).tokens,
      );
    // One "token" for the label, then an estimate of its length (budgets for generation).
    const n = Math.max(1, Math.ceil(Buffer.byteLength(label) / 3));
    return [
      this.labelToken(label),
      ...Array.from({ length: n - 1 }, (_, i) => this.labelToken(`${label}\u0000${i}`)),
    ];
  }

  /** The prompt as the server's chat template renders it (llama.cpp). */
  private render(prompt: ChatPrompt, signal?: AbortSignal): Promise<string> {
    return this.rendered.get(
      JSON.stringify(prompt),
      async () =>
        (
          await this.http.call<{ prompt: string }>(
            `${this.root}/apply-template`,
            { messages: this.messages(prompt) },
            signal,
          )
        ).prompt,
    );
  }

  async countPromptTokens(prompt: ChatPrompt): Promise<number> {
    if (this.flavor !== 'llama.cpp')
      return Math.ceil(Buffer.byteLength((prompt.system ?? '') + prompt.user) / 3) + 8;
    const text = await this.render(prompt);
    return this.counted.get(
      text,
      async () =>
        (
          await this.http.call<{ tokens: number[] }>(`${this.root}/tokenize`, {
            content: text,
            add_special: true,
            parse_special: true,
          })
        ).tokens.length,
    );
  }

  private outOfSetStop: ServerError | undefined;

  private checkAnswer(answer: string, labels: string[], field: string): string {
    if (labels.includes(answer)) {
      this.outOfSetRun = 0;
      return answer;
    }
    this.outOfSet++;
    // Requests in flight may still come back out of set after the limit: the run stops with
    // the message of the moment it was reached.
    if (this.outOfSetStop) throw this.outOfSetStop;
    if (++this.outOfSetRun >= OUT_OF_SET_LIMIT)
      throw (this.outOfSetStop = new ServerError(
        `the server answered outside the relation set ${OUT_OF_SET_LIMIT} times in a row (last: ${JSON.stringify(answer.slice(0, 80))}): it ignores the constraint field ${field}. Is the flavor right (detected or set: ${this.flavor}; --server-flavor) and does this server version support that field?`,
      ));
    throw new OutOfSetAnswer(answer);
  }

  async withPrompt<T>(
    prompt: ChatPrompt,
    fn: (s: PromptSession) => Promise<T>,
    signal?: AbortSignal,
    answerRoom = 64,
  ): Promise<T> {
    throwIfAborted(signal);
    const promptTokens = await this.countPromptTokens(prompt);
    if (promptTokens + answerRoom > this.info.contextSize)
      throw new ContextOverflowError(promptTokens + answerRoom, this.info.contextSize);
    const slot = await this.slots.acquire(signal);
    try {
      return await fn(
        this.flavor === 'llama.cpp'
          ? this.llamaSession(prompt, promptTokens, slot, signal)
          : this.chatSession(prompt, promptTokens, signal),
      );
    } finally {
      this.slots.release(slot);
    }
  }

  private llamaSession(
    prompt: ChatPrompt,
    promptTokens: number,
    slot: number,
    signal?: AbortSignal,
  ): PromptSession {
    let reused: number | undefined;
    // Log-probabilities read in this session, by (answer prefix, token): one value per position
    // and token however often the label search asks, and the top-N floor per prefix.
    const exact = new Map<string, number>();
    const floors = new Map<string, number>();
    const complete = async (
      body: Record<string, unknown>,
      path: TokenId[] = [],
    ): Promise<LlamaCompletion> => {
      const text = await this.render(prompt, signal);
      const r = await this.http.call<LlamaCompletion>(
        `${this.root}/completion`,
        {
          prompt: path.length ? [text, ...path] : text,
          cache_prompt: true,
          id_slot: slot,
          ...body,
        },
        signal,
      );
      reused ??= r.timings?.cache_n ?? 0;
      this.evaluated +=
        (r.timings?.prompt_n ?? r.tokens_evaluated ?? 0) + (r.tokens_predicted ?? 0);
      return r;
    };
    const generate = async (
      body: Record<string, unknown>,
      maxTokens: number,
    ): Promise<Generation> => {
      const r = await complete({ n_predict: maxTokens, temperature: 0, top_k: 1, ...body });
      return {
        text: r.content ?? '',
        tokens: r.tokens_predicted ?? 0,
        truncated: r.stop_type === 'limit',
      };
    };
    return {
      promptTokens,
      get reusedTokens() {
        return reused ?? 0;
      },
      continuation: (path, candidates) =>
        this.llamaContinuation(complete, { exact, floors }, path, candidates),
      generateConstrained: async (labels) => {
        // Under a grammar the model may spell a label in more (shorter) tokens than its own
        // tokenization: room for one token per byte; the grammar ends the answer after the label.
        const longest = Math.max(...labels.map((l) => Buffer.byteLength(l)));
        const g = await generate({ grammar: choiceGrammar(labels) }, longest + 2);
        return this.checkAnswer(g.text, labels, 'grammar');
      },
      generateFree: async (maxTokens) => (await generate({}, maxTokens)).text,
      generateWithGrammar: (grammar, maxTokens) =>
        generate(grammarFields('llama.cpp', grammar)!, maxTokens),
    };
  }

  /**
   * Label scoring through llama-server: the log-probabilities of the candidates after each
   * prefix of the answer path, read from `/completion` (n_probs, raw logits), memoized per
   * session; a label's own next token and the answer's end are read exactly even outside the
   * top N (a one-token logit_bias request), other candidates there keep the top-N floor.
   */
  private async llamaContinuation(
    complete: (body: Record<string, unknown>, path?: TokenId[]) => Promise<LlamaCompletion>,
    memo: { exact: Map<string, number>; floors: Map<string, number> },
    path: readonly TokenId[],
    candidates: readonly (readonly TokenId[])[],
  ): Promise<number[][]> {
    const { exact, floors } = memo;
    const out: number[][] = [];
    for (let i = 0; i <= path.length; i++) {
      const prefix = path.slice(0, i);
      const at = (t: TokenId) => `${prefix.join(',')}:${t}`;
      // Needed exactly: the label's own next token, and the answer's end after its last token.
      const needed =
        i < path.length ? [path[i]!] : candidates[i]!.filter((c) => this.endTokens.includes(c));
      if (
        !needed.every((t) => exact.has(at(t))) ||
        !candidates[i]!.every((t) => exact.has(at(t)) || floors.has(prefix.join(',')))
      ) {
        // temperature < 0: greedy, probabilities from a plain softmax of the raw logits.
        const r = await complete(
          { n_predict: 1, n_probs: Math.max(N_PROBS, candidates[i]!.length), temperature: -1 },
          prefix,
        );
        const top = r.completion_probabilities?.[0]?.top_logprobs ?? [];
        if (!top.length)
          throw new ServerError(
            `${this.root}/completion returned no token probabilities (n_probs); is this llama-server?`,
          );
        for (const t of top) if (!exact.has(at(t.id))) exact.set(at(t.id), t.logprob);
        // Outside the top N: at most the smallest one listed (an upper bound, never taken as exact).
        floors.set(prefix.join(','), Math.min(...top.map((t) => t.logprob)));
      }
      for (const t of needed) {
        if (exact.has(at(t))) continue;
        // Outside the top N: the exact value of that one token. A logit bias makes the server
        // sample it; its reported log-probability comes from the raw logits (the bias is a
        // sampler stage), so it is the unbiased value.
        const r = await complete(
          { n_predict: 1, n_probs: 1, temperature: -1, logit_bias: [[t, 100]] },
          prefix,
        );
        const got = r.completion_probabilities?.[0];
        if (got?.id !== t || typeof got.logprob !== 'number')
          throw new ServerError(
            `${this.root}/completion did not return the log-probability of token ${t} (logit_bias); is this llama-server?`,
          );
        exact.set(at(t), got.logprob);
      }
      const floor = floors.get(prefix.join(',')) ?? -Infinity;
      out.push(candidates[i]!.map((c) => exact.get(at(c)) ?? floor));
    }
    return out;
  }

  private chatSession(
    prompt: ChatPrompt,
    promptTokens: number,
    signal?: AbortSignal,
  ): PromptSession {
    let reused: number | undefined;
    let first: Promise<Map<string, number>> | undefined;
    const chat = async (
      body: Record<string, unknown>,
    ): Promise<{ content: string; finish?: string; completion: number; raw: ChatCompletion }> => {
      const r = await this.http.call<ChatCompletion>(
        `${this.endpoint}/chat/completions`,
        { model: this.servedModel, messages: this.messages(prompt), temperature: 0, ...body },
        signal,
      );
      const c = r.choices?.[0];
      if (!c) throw new ServerError(`${this.endpoint}/chat/completions: the answer has no choices`);
      reused ??= r.usage?.prompt_tokens_details?.cached_tokens ?? 0;
      this.evaluated +=
        (r.usage?.prompt_tokens ?? promptTokens) -
        (r.usage?.prompt_tokens_details?.cached_tokens ?? 0) +
        (r.usage?.completion_tokens ?? 0);
      return {
        content: c.message?.content ?? '',
        finish: c.finish_reason,
        completion: r.usage?.completion_tokens ?? 0,
        raw: r,
      };
    };
    return {
      promptTokens,
      get reusedTokens() {
        return reused ?? 0;
      },
      continuation: async (path, candidates) => {
        // One read of the first answer token's top_logprobs per prompt; labels are whole
        // "tokens" here, so after one only the end of the answer is asked about (certain).
        first ??= chat({ max_tokens: 1, logprobs: true, top_logprobs: TOP_LOGPROBS_CAP }).then(
          (r) => {
            const top = r.raw.choices?.[0]?.logprobs?.content?.[0]?.top_logprobs ?? [];
            if (!top.length)
              throw new ServerError(
                `${this.endpoint}/chat/completions returned no top_logprobs; this server cannot score answers (use --mode generate)`,
              );
            const byText = new Map<string, number>();
            for (const t of top)
              byText.set(
                t.token.trim(),
                Math.max(byText.get(t.token.trim()) ?? -Infinity, t.logprob),
              );
            // Outside the top N: at most the smallest one listed (an upper bound).
            byText.set('\u0000floor', Math.min(...top.map((t) => t.logprob)));
            return byText;
          },
        );
        const byText = await first;
        return candidates.map((cs, i) =>
          i === 0
            ? cs.map((c) => byText.get(this.labelTexts[c] ?? '') ?? byText.get('\u0000floor')!)
            : cs.map((c) => (this.endTokens.includes(c) ? 0 : -Infinity)),
        );
      },
      generateConstrained: async (labels) => {
        const f = choiceFields(this.flavor, labels);
        const r = await chat({
          max_tokens: Math.max(...labels.map((l) => Buffer.byteLength(l))) + 16,
          ...f.fields,
        });
        return this.checkAnswer(f.read(r.content.trim()), labels, f.field);
      },
      generateFree: async (maxTokens) => (await chat({ max_tokens: maxTokens })).content,
      generateWithGrammar: async (grammar, maxTokens) => {
        const r = await chat({
          max_tokens: maxTokens,
          ...(grammarFields(this.flavor, grammar) ?? {}),
        });
        return { text: r.content, tokens: r.completion, truncated: r.finish === 'length' };
      },
    };
  }

  async dispose(): Promise<void> {
    /* nothing held: the server keeps running */
  }
}

/** Reads the API key from the environment variable the user named (never from a flag). */
export function apiKeyFrom(envName: string | undefined): string | undefined {
  if (!envName) return process.env['RELATION_LENS_API_KEY'] || undefined;
  const v = process.env[envName];
  if (!v) throw new ServerError(`the environment variable ${envName} (--api-key-env) is not set`);
  return v;
}

/** An API key and the one endpoint it belongs to. */
export type EndpointKey = { endpoint: string; apiKey?: string };

/**
 * A server embedder's spec, `openai:ENDPOINT[#MODEL]` (index build's --embedder, an index
 * manifest's "embedder"): the endpoint without trailing slashes, and the model when named.
 */
export function parseServerEmbedderSpec(spec: string): { endpoint: string; model?: string } {
  const [endpoint = '', model] = spec.replace(/^openai:/, '').split('#') as [string, string?];
  return { endpoint: endpoint.replace(/\/+$/, ''), ...(model ? { model } : {}) };
}

/** scheme://host:port of a URL, or undefined when it is not one. */
export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** The key among `keys` that belongs to the server at `url` (same origin), if any. */
export function keyFor(url: string, keys: readonly EndpointKey[] | undefined): string | undefined {
  const o = originOf(url);
  return keys?.find((k) => k.apiKey && originOf(k.endpoint) === o)?.apiKey;
}

/**
 * Sentence embeddings from a serving engine's `/v1/embeddings` (llama-server started with
 * `--embeddings`, vLLM with an embedding model, Ollama, OpenAI). Its id, stored in the index
 * manifest, names the endpoint and model, so queries are embedded by the same server later.
 */
export class ServerEmbedder implements Embedder {
  private constructor(
    readonly id: string,
    readonly dimension: number,
    private readonly http: HttpJson,
    private readonly url: string,
    private readonly model: string,
  ) {}

  /**
   * `spec`: `openai:ENDPOINT[#MODEL]` (the endpoint's first model when none is named). `keys`:
   * API keys, each with the one endpoint it belongs to; a key is sent only to its own server
   * (same origin), never because an index manifest names that server — and no key is read from
   * the environment here.
   */
  static async open(
    spec: string,
    o: { signal?: AbortSignal; keys?: readonly EndpointKey[] } = {},
  ): Promise<ServerEmbedder> {
    const { signal } = o;
    const { endpoint: root, model: named } = parseServerEmbedderSpec(spec);
    if (!/^https?:\/\//.test(root) || !originOf(root))
      throw new ServerError(`not a URL: ${root} (expected openai:http://host:port/v1)`);
    const key = keyFor(root, o.keys);
    const http = new HttpJson(key, 120_000, 3);
    let model = named;
    if (!model) {
      const models = await http
        .call<{ data?: Array<{ id?: string }> }>(`${root}/models`, undefined, signal)
        .catch((e: Error) => {
          throw new ServerError(`cannot reach ${root}/models: ${e.message}`, { cause: e });
        });
      model = models.data?.[0]?.id;
      if (!model) throw new ServerError(`${root}/models lists no model`);
    }
    const probe = await ServerEmbedder.request(http, `${root}/embeddings`, model, 'probe', signal);
    return new ServerEmbedder(
      `openai:${root}#${model}`,
      probe.length,
      http,
      `${root}/embeddings`,
      model,
    );
  }

  private static async request(
    http: HttpJson,
    url: string,
    model: string,
    text: string,
    signal?: AbortSignal,
  ): Promise<number[]> {
    let r: { data?: Array<{ embedding?: unknown }> };
    try {
      r = await http.call(url, { model, input: text }, signal);
    } catch (e) {
      throw new ServerError(
        `${url}: ${(e as Error).message} (does the server offer embeddings? llama-server needs --embeddings)`,
        { cause: e },
      );
    }
    const v = r.data?.[0]?.embedding;
    if (!Array.isArray(v) || !v.length || !v.every((x) => typeof x === 'number'))
      throw new ServerError(`${url}: the answer has no embedding vector (data[0].embedding)`);
    return v as number[];
  }

  async embed(text: string): Promise<number[]> {
    const v = await ServerEmbedder.request(this.http, this.url, this.model, text);
    if (v.length !== this.dimension)
      throw new ServerError(
        `${this.url}: an embedding of ${v.length} dimensions, the index has ${this.dimension}`,
      );
    return v;
  }

  async dispose(): Promise<void> {
    /* nothing held */
  }
}
