/**
 * The document encoder (issue 25): a small transformer encoder fine-tuned by the project
 * (trainer/train_encoder.py, after ATLOP) that reads a document once and gives
 *   - every ordered entity pair's relation logits (relations + a learned threshold class): the
 *     candidate filter's score (best relation over the threshold) and the encoder's own
 *     relation predictions, the baseline the LLM stage must beat;
 *   - BIO tags over the entity types: the mentions of plain text, grouped into entities by name.
 *
 * This file is the algorithm in plain TypeScript: words and word pieces, windows over long
 * documents and how their outputs are merged, the mention matrix, scores, BIO decoding and
 * grouping. Running the two ONNX graphs (one window; one document's pairs) and the tokenizer is
 * the engine's part behind `EncoderBackend` (src/engine/docEncoder.ts). The Python trainer does
 * the same steps (its `windows`, `encode_doc`, `Doc`); the parity test compares the two.
 */
import { z } from 'zod';
import {
  Entity,
  Mention,
  RelRecord,
  Relation,
  RelationSet,
  Span,
  sentenceIndexOf,
} from '../schema';
import { normalizeName } from './align';
import { splitSentences } from './entities';
import { PairScorer, pairKey } from './pairFilter';

export const ENCODER_CONFIG_FORMAT = 'relation-lens-doc-encoder';
export const ENCODER_MANIFEST_FORMAT = 'relation-lens-doc-encoder-manifest';

/** encoder-config.json: what the trainer wrote next to the ONNX graphs. */
export const EncoderConfigSchema = z
  .object({
    format: z.literal(ENCODER_CONFIG_FORMAT),
    version: z.literal(2),
    window: z.number().int().min(8),
    stride: z.number().int().min(1),
    cls: z.number().int().nonnegative(),
    sep: z.number().int().nonnegative(),
    hidden: z.number().int().positive(),
    heads: z.number().int().positive(),
    relations: z.array(z.string().min(1)).min(1),
    types: z.array(z.string().min(1)),
    bio: z.array(z.string()),
    tokenizerSha256: z.string().regex(/^[0-9a-f]{64}$/),
    quantized: z.boolean(),
  })
  .passthrough();
export type EncoderConfig = z.infer<typeof EncoderConfigSchema>;

/** manifest.json: how the model was made, its keep threshold and its held-out scores. */
export const EncoderManifestSchema = z
  .object({
    format: z.literal(ENCODER_MANIFEST_FORMAT),
    /** Keep threshold (a probability: sigmoid of best relation logit minus threshold logit). */
    threshold: z.number().min(0).max(1),
    targetRecall: z.number().min(0).max(1),
    heldOut: z
      .object({ documents: z.number().int(), recall: z.number(), keptFraction: z.number() })
      .passthrough()
      .optional(),
    base: z.object({ name: z.string(), source: z.string().optional() }).passthrough(),
    data: z
      .object({ file: z.string(), sha256: z.string(), documents: z.number().int() })
      .passthrough()
      .optional(),
    command: z.string().optional(),
  })
  .passthrough();
export type EncoderManifest = z.infer<typeof EncoderManifestSchema>;

/** What runs the encoder's graphs (onnxruntime in Node) and its tokenizer. */
export interface EncoderBackend {
  /** Word-piece ids of one word (no special tokens). */
  tokenize(word: string): number[];
  /**
   * One window `[CLS] ids [SEP]` (ids.length + 2 ≤ window): hidden [T,H], last-layer attention
   * [A,T,T] and BIO logits [T,C], row-major, T = ids.length + 2.
   */
  runWindow(
    ids: number[],
  ): Promise<{ hidden: Float32Array; attention: Float32Array; bio: Float32Array }>;
  /**
   * Pair logits [P, relations+1] from a document's merged hidden states [L,H], its entities'
   * attention rows [E,A,L] and mention matrix [E,L] (see PairHead in the trainer).
   */
  runHead(x: {
    hidden: Float32Array;
    entityAttention: Float32Array;
    mentions: Float32Array;
    heads: number[];
    tails: number[];
    length: number;
    entities: number;
  }): Promise<Float32Array>;
}

/** BERT's basic-tokenizer split: whitespace separates, each punctuation mark and CJK ideograph is its own word. */
export function splitWords(text: string): Span[] {
  const out: Span[] = [];
  let start = -1;
  let i = 0;
  const close = (end: number) => {
    if (start >= 0) out.push({ start, end });
    start = -1;
  };
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const len = ch.length;
    if (isWhitespace(ch)) close(i);
    else if (isPunctuation(ch, cp) || isCjk(cp)) {
      close(i);
      out.push({ start: i, end: i + len });
    } else if (start < 0) start = i;
    i += len;
  }
  close(i);
  return out;
}

const isWhitespace = (ch: string) => /^[\t\n\r]$|^\p{Zs}$/u.test(ch);
const isPunctuation = (ch: string, cp: number) =>
  (cp >= 33 && cp <= 47) ||
  (cp >= 58 && cp <= 64) ||
  (cp >= 91 && cp <= 96) ||
  (cp >= 123 && cp <= 126) ||
  /^\p{P}$/u.test(ch);
const isCjk = (cp: number) =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x20000 && cp <= 0x2a6df) ||
  (cp >= 0x2a700 && cp <= 0x2b73f) ||
  (cp >= 0x2b740 && cp <= 0x2b81f) ||
  (cp >= 0x2b820 && cp <= 0x2ceaf) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x2f800 && cp <= 0x2fa1f);

/** Content windows [start, end) over n tokens, as the trainer's `windows`. */
export function encoderWindows(n: number, window: number, stride: number): Array<[number, number]> {
  const size = window - 2;
  if (n <= size) return [[0, n]];
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n - size; s += stride) out.push([s, s + size]);
  out.push([n - size, n]);
  return out;
}

/** A text read by the encoder: its tokens, merged outputs, and where each token's word is. */
export interface EncodedText {
  text: string;
  ids: number[];
  words: Span[];
  /** The word of each token. */
  tokenWord: number[];
  /** The first token of each word (-1 when the word has no tokens, e.g. only control characters). */
  wordFirstToken: number[];
  hidden: Float32Array;
  bio: Float32Array;
  /**
   * The windows' last-layer attention [A,T,T] (T = window tokens + 2), kept for documents of at
   * most two windows; longer ones are read again when pairs are scored, so memory grows with the
   * length and never with its square.
   */
  windows: Array<{ start: number; end: number; attention?: Float32Array }>;
}

/** Documents of more windows than this are read again for their entities' attention rows. */
const KEEP_ATTENTION_WINDOWS = 2;

export interface EncoderMention {
  start: number;
  end: number;
  type: string;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export class DocumentEncoder {
  private last: EncodedText | undefined;

  constructor(
    readonly config: EncoderConfig,
    private readonly backend: EncoderBackend,
    readonly manifest?: EncoderManifest,
    /** Where it was loaded from (messages, reports). */
    readonly source = 'encoder',
  ) {}

  get relations(): string[] {
    return this.config.relations;
  }

  /** Tokens of a text, word by word. */
  tokenize(text: string): Pick<EncodedText, 'ids' | 'words' | 'tokenWord' | 'wordFirstToken'> {
    const words = splitWords(text);
    const ids: number[] = [];
    const tokenWord: number[] = [];
    const wordFirstToken: number[] = [];
    words.forEach((w, wi) => {
      const pieces = this.backend.tokenize(text.slice(w.start, w.end));
      wordFirstToken.push(pieces.length ? ids.length : -1);
      for (const p of pieces) {
        ids.push(p);
        tokenWord.push(wi);
      }
    });
    return { ids, words, tokenWord, wordFirstToken };
  }

  /** Reads a text (cached for the last text: the filter, the baseline and the mentions share one pass). */
  async encode(text: string): Promise<EncodedText> {
    if (this.last?.text === text) return this.last;
    const t = this.tokenize(text);
    const n = t.ids.length;
    const H = this.config.hidden;
    const C = this.config.bio.length;
    const hidden = new Float32Array(n * H);
    const bio = new Float32Array(n * C);
    const count = new Float32Array(n);
    const spans = encoderWindows(n, this.config.window, this.config.stride);
    const keep = spans.length <= KEEP_ATTENTION_WINDOWS;
    const windows: EncodedText['windows'] = [];
    for (const [s, e] of spans) {
      const w = e - s;
      const out = await this.backend.runWindow(t.ids.slice(s, e));
      for (let i = 0; i < w; i++) {
        count[s + i]! += 1;
        const src = (i + 1) * H;
        const dst = (s + i) * H;
        for (let k = 0; k < H; k++) hidden[dst + k]! += out.hidden[src + k]!;
        for (let k = 0; k < C; k++) bio[(s + i) * C + k]! += out.bio[(i + 1) * C + k]!;
      }
      windows.push({ start: s, end: e, ...(keep ? { attention: out.attention } : {}) });
    }
    for (let i = 0; i < n; i++) {
      const c = count[i]! || 1;
      for (let k = 0; k < H; k++) hidden[i * H + k]! /= c;
      for (let k = 0; k < C; k++) bio[i * C + k]! /= c;
    }
    this.last = { text, ...t, hidden, bio, windows };
    return this.last;
  }

  /**
   * Each entity's attention rows [E,A,n]: the mean over its mention-first tokens of the merged
   * attention rows — a token's rows summed over the windows that hold it ([CLS]/[SEP] columns
   * dropped), renormalized — as the trainer's entity_attention over its merged matrix.
   */
  private async entityAttention(enc: EncodedText, toks: number[][]): Promise<Float32Array> {
    const n = enc.ids.length;
    const A = this.config.heads;
    const rowOf = new Map<number, number>();
    for (const ts of toks) for (const t of ts) if (!rowOf.has(t)) rowOf.set(t, rowOf.size);
    const rows = new Float32Array(rowOf.size * A * n);
    for (const win of enc.windows) {
      const inside = [...rowOf].filter(([t]) => t >= win.start && t < win.end);
      if (!inside.length) continue;
      const w = win.end - win.start;
      const T = w + 2;
      const att =
        win.attention ??
        (await this.backend.runWindow(enc.ids.slice(win.start, win.end))).attention;
      for (const [t, r] of inside)
        for (let a = 0; a < A; a++) {
          const src = a * T * T + (t - win.start + 1) * T + 1;
          const dst = (r * A + a) * n + win.start;
          for (let j = 0; j < w; j++) rows[dst + j]! += att[src + j]!;
        }
    }
    for (let q = 0; q < rowOf.size * A; q++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += rows[q * n + j]!;
      const inv = 1 / (sum + 1e-10);
      for (let j = 0; j < n; j++) rows[q * n + j]! *= inv;
    }
    const out = new Float32Array(toks.length * A * n);
    toks.forEach((ts, e) => {
      for (const t of ts) {
        const r = rowOf.get(t)!;
        for (let k = 0; k < A * n; k++) out[e * A * n + k]! += rows[r * A * n + k]! / ts.length;
      }
    });
    return out;
  }

  /** The first token of each mention of each entity (entities without one get none). */
  private mentionTokens(enc: EncodedText, entities: Entity[]): number[][] {
    return entities.map((e) => {
      const firsts = new Set<number>();
      for (const m of e.mentions) {
        let w = lowerBound(enc.words, m.start);
        while (w < enc.words.length && enc.words[w]!.start < m.end) {
          if (enc.words[w]!.end > m.start && enc.wordFirstToken[w]! >= 0) {
            firsts.add(enc.wordFirstToken[w]!);
            break;
          }
          w++;
        }
      }
      return [...firsts].sort((a, b) => a - b);
    });
  }

  /**
   * Logits [relations+1] of each listed ordered pair (entity ids); a pair with an entity the
   * text has no token for gets null.
   */
  async pairLogits(
    record: Pick<RelRecord, 'text' | 'entities'>,
    pairs: Array<[string, string]>,
  ): Promise<Array<Float32Array | null>> {
    const out: Array<Float32Array | null> = pairs.map(() => null);
    if (!pairs.length) return out;
    const enc = await this.encode(record.text);
    const n = enc.ids.length;
    const toks = this.mentionTokens(enc, record.entities);
    const index = new Map<string, number>();
    const used: number[] = [];
    record.entities.forEach((e, i) => {
      if (toks[i]!.length) {
        index.set(e.id, used.length);
        used.push(i);
      }
    });
    const heads: number[] = [];
    const tails: number[] = [];
    const which: number[] = [];
    pairs.forEach(([h, t], j) => {
      const hi = index.get(h);
      const ti = index.get(t);
      if (hi === undefined || ti === undefined || hi === ti) return;
      heads.push(hi);
      tails.push(ti);
      which.push(j);
    });
    if (!which.length) return out;
    const E = used.length;
    const mentions = new Float32Array(E * n);
    used.forEach((ei, row) => {
      for (const tkn of toks[ei]!) mentions[row * n + tkn] = 1;
    });
    const entityAttention = await this.entityAttention(
      enc,
      used.map((ei) => toks[ei]!),
    );
    const R = this.config.relations.length + 1;
    // One call per chunk of pairs bounds the head's memory on documents with many entities.
    const CHUNK = 2048;
    for (let c = 0; c < which.length; c += CHUNK) {
      const logits = await this.backend.runHead({
        hidden: enc.hidden,
        entityAttention,
        mentions,
        heads: heads.slice(c, c + CHUNK),
        tails: tails.slice(c, c + CHUNK),
        length: n,
        entities: E,
      });
      for (let k = 0; k < Math.min(CHUNK, which.length - c); k++)
        out[which[c + k]!] = logits.slice(k * R, (k + 1) * R);
    }
    return out;
  }

  /** Filter scores in [0, 1]: sigmoid of the best relation logit over the threshold logit (0 for a pair it cannot read). */
  async scorePairs(
    record: Pick<RelRecord, 'text' | 'entities'>,
    pairs: Array<[string, string]>,
  ): Promise<number[]> {
    return (await this.pairLogits(record, pairs)).map((l) => (l ? sigmoid(margin(l)) : 0));
  }

  /**
   * The encoder's own relations (ATLOP's decision: every relation whose logit is above the
   * threshold class's, at most `maxPerPair` per pair), labelled with the run's relation names.
   */
  async predictRelations(
    record: Pick<RelRecord, 'text' | 'entities'>,
    pairs: Array<[string, string]>,
    maxPerPair = 4,
  ): Promise<Relation[]> {
    const logits = await this.pairLogits(record, pairs);
    const out: Relation[] = [];
    logits.forEach((l, j) => {
      if (!l) return;
      const th = l[0]!;
      const above: Array<[number, number]> = [];
      for (let r = 1; r < l.length; r++) if (l[r]! > th) above.push([r, l[r]!]);
      above.sort((a, b) => b[1] - a[1]);
      for (const [r, v] of above.slice(0, maxPerPair))
        out.push({
          head: pairs[j]![0],
          tail: pairs[j]![1],
          label: this.config.relations[r - 1]!,
          score: +sigmoid(v - th).toFixed(4),
          source: 'model',
        });
    });
    return out;
  }

  /**
   * Mentions of a text from the BIO head: a word's scores are its first token's; the tags are the
   * best sequence in which an I- tag only continues a B- or I- of its own type (decodeBio); each
   * mention is trimmed of the words a name does not start or end with, and a name of a person,
   * organization, place or other (not a number or time) written wholly in lower case is dropped
   * (keptMention). Each step was chosen on the encoder's 50 held-out dev documents (mention F1
   * 81.06 with each word's best tag alone, 83.93 decoded, 84.01 trimmed, 85.05 with the case rule;
   * joining a B- to a mention of its own type just before it scored 83.76 there and was left out).
   */
  async mentions(text: string): Promise<EncoderMention[]> {
    const enc = await this.encode(text);
    const C = this.config.bio.length;
    const words = enc.words.filter((_, wi) => enc.wordFirstToken[wi]! >= 0);
    const rows = enc.words.flatMap((_, wi) => {
      const t = enc.wordFirstToken[wi]!;
      return t < 0 ? [] : [enc.bio.subarray(t * C, (t + 1) * C)];
    });
    const tags = decodeBio(rows, this.config.bio);
    const out: EncoderMention[] = [];
    let cur: { first: number; last: number; type: string } | null = null;
    const flush = () => {
      const t = cur && trimMention(text, words, cur.first, cur.last);
      const m = t && { start: words[t[0]]!.start, end: words[t[1]]!.end, type: cur!.type };
      if (m && keptMention(text.slice(m.start, m.end), m.type)) out.push(m);
      cur = null;
    };
    words.forEach((_, i) => {
      const tag = this.config.bio[tags[i]!]!;
      if (tag === 'O') return flush();
      if (tag.startsWith('I-') && cur) cur.last = i;
      else {
        flush();
        cur = { first: i, last: i, type: tag.slice(2) };
      }
    });
    flush();
    return out;
  }

  /** A record of plain text: sentences, and the encoder's mentions grouped into entities by normalized name. */
  async recordFromText(id: string, text: string): Promise<RelRecord> {
    const sentences = splitSentences(text);
    return {
      id,
      text,
      entities: groupMentions(text, await this.mentions(text), sentences),
      relations: [],
      sentences,
    };
  }

  /** Refuses a run whose relation set is not the encoder's (see checkEncoderRelations). */
  checkRelationSet(rs: RelationSet): void {
    checkEncoderRelations(this.config, rs, this.source);
  }
}

export class EncoderRelationSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderRelationSetError';
  }
}

/**
 * Refuses a run whose relation set is not the encoder's (its relation logits would be read as
 * other relations), naming the labels that differ. Needs only the configuration: checked before
 * the graphs load.
 */
export function checkEncoderRelations(
  config: Pick<EncoderConfig, 'relations'>,
  rs: RelationSet,
  source: string,
): void {
  const want = config.relations;
  const have = rs.labels.map((l) => l.name).filter((n) => n !== rs.noRelation);
  const missing = want.filter((r) => !have.includes(r));
  const added = have.filter((r) => !want.includes(r));
  if (!missing.length && !added.length) return;
  const list = (xs: string[]) =>
    xs
      .slice(0, 5)
      .map((x) => JSON.stringify(x))
      .join(', ') + (xs.length > 5 ? ` and ${xs.length - 5} more` : '');
  throw new EncoderRelationSetError(
    `${source} was trained for another relation set (${want.length} relations; the run's has ${have.length})` +
      (missing.length ? `; not in the run's set: ${list(missing)}` : '') +
      (added.length ? `; unknown to the encoder: ${list(added)}` : ''),
  );
}

/** Words a DocRED mention never starts or ends with (none of Re-DocRED dev's 13,189 does). */
const NEVER_AT_EDGE = new Set(['of', 'and', ',', '/', '(', '-', '–', ';', ':']);
/** Punctuation a mention may start with (a currency) or end with (an abbreviation, a closing bracket, a percentage, a quote). */
const FIRST_PUNCTUATION = /^[$£€¥]$/u;
const LAST_PUNCTUATION = /^[.)%'’"″!?+#]$/u;

/**
 * Whether a found mention is kept: a name (not a number or a time) with lower-case letters and no
 * capital or digit is dropped — the tagger is uncased, and 61 of Re-DocRED dev's 13,189 gold
 * mentions of the other types are written so. Text without case (Chinese) is always kept.
 */
export function keptMention(name: string, type: string): boolean {
  if (type === 'NUM' || type === 'TIME') return true;
  return !/\p{Ll}/u.test(name) || /[\p{Lu}\p{Lt}\p{N}]/u.test(name);
}

/**
 * A mention's word range [first, last] without the words a name does not start or end with
 * (the tagger, blind to case, often takes in a hyphen, a comma or "of" beside a name); null when
 * nothing is left.
 */
export function trimMention(
  text: string,
  words: Span[],
  first: number,
  last: number,
): [number, number] | null {
  const word = (i: number) => text.slice(words[i]!.start, words[i]!.end);
  const punct = (w: string) => !/[\p{L}\p{N}]/u.test(w);
  const badFirst = (w: string) => NEVER_AT_EDGE.has(w) || (punct(w) && !FIRST_PUNCTUATION.test(w));
  const badLast = (w: string) => NEVER_AT_EDGE.has(w) || (punct(w) && !LAST_PUNCTUATION.test(w));
  while (first <= last && badFirst(word(first))) first++;
  while (last >= first && badLast(word(last))) last--;
  return first <= last ? [first, last] : null;
}

/**
 * The best tag sequence under BIO's rule (Viterbi over log-softmax scores): a sequence starts with
 * O or B-X, and I-X follows only B-X or I-X. Taking each word's best tag alone splits a name whose
 * words disagree on the type ("Marilyn" B-ORG, "Manson" I-PER) into two mentions, or drops its
 * start; under the rule the name is one mention of the type its words support together.
 * `rows[i]` holds word i's logits in the order of `tags` ("O", "B-X", "I-X", ...).
 */
export function decodeBio(rows: ArrayLike<number>[], tags: string[]): number[] {
  const C = tags.length;
  // allowed[j]: the tags that may precede tag j.
  const allowed = tags.map((t) =>
    t.startsWith('I-')
      ? tags.flatMap((u, k) => (u === `B-${t.slice(2)}` || u === t ? [k] : []))
      : tags.map((_, k) => k),
  );
  const start = tags.map((t) => !t.startsWith('I-'));
  let best = new Float64Array(C);
  const back: Int32Array[] = [];
  rows.forEach((row, i) => {
    let max = -Infinity;
    for (let k = 0; k < C; k++) max = Math.max(max, row[k]!);
    let sum = 0;
    for (let k = 0; k < C; k++) sum += Math.exp(row[k]! - max);
    const logZ = max + Math.log(sum);
    const next = new Float64Array(C);
    const from = new Int32Array(C).fill(-1);
    for (let j = 0; j < C; j++) {
      const emit = row[j]! - logZ;
      if (i === 0) {
        next[j] = start[j] ? emit : -Infinity;
        continue;
      }
      let b = -Infinity;
      for (const k of allowed[j]!)
        if (best[k]! > b) {
          b = best[k]!;
          from[j] = k;
        }
      next[j] = b + emit;
    }
    best = next;
    back.push(from);
  });
  if (!rows.length) return [];
  let j = 0;
  for (let k = 1; k < C; k++) if (best[k]! > best[j]!) j = k;
  const out = new Array<number>(rows.length);
  for (let i = rows.length - 1; i >= 0; i--) {
    out[i] = j;
    j = back[i]![j]!;
  }
  return out;
}

/** A pair's score before the sigmoid: its best relation logit over the threshold logit (the trainer's pair_scores). */
export function margin(l: Float32Array): number {
  let best = -Infinity;
  for (let r = 1; r < l.length; r++) best = Math.max(best, l[r]!);
  return best - l[0]!;
}

function lowerBound(words: Span[], offset: number): number {
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid]!.end <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Mentions with the same normalized name are one entity (its type: the most frequent of its mentions'). */
export function groupMentions(
  text: string,
  mentions: EncoderMention[],
  sentences: Span[],
): Entity[] {
  const groups = new Map<string, EncoderMention[]>();
  for (const m of mentions) {
    const key = normalizeName(text.slice(m.start, m.end));
    if (!key) continue;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(m);
  }
  return [...groups.values()]
    .sort((a, b) => a[0]!.start - b[0]!.start)
    .map((ms, i) => {
      const counts = new Map<string, number>();
      for (const m of ms) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
      const type = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
      const name = text.slice(ms[0]!.start, ms[0]!.end);
      return {
        id: `e${i}`,
        name,
        type,
        mentions: ms.map((m) => {
          const out: Mention = { start: m.start, end: m.end };
          const shown = text.slice(m.start, m.end);
          if (shown !== name) out.name = shown;
          if (m.type !== type) out.type = m.type;
          if (sentences.length) out.sent = sentenceIndexOf({ sentences }, m.start);
          return out;
        }),
      };
    });
}

/**
 * The encoder's scores of every candidate pair of the records, computed once (one pass per
 * document) and served synchronously to the curve and report functions of pairFilter.ts.
 */
export async function encoderScorer(
  encoder: DocumentEncoder,
  records: RelRecord[],
  candidates: (r: RelRecord) => Array<[string, string]>,
  onDocument?: (done: number) => void,
): Promise<PairScorer> {
  const byRecord = new Map<RelRecord, Map<string, number>>();
  for (const [i, r] of records.entries()) {
    const pairs = candidates(r);
    const scores = await encoder.scorePairs(r, pairs);
    byRecord.set(r, new Map(pairs.map((p, j) => [pairKey(...p), scores[j]!])));
    onDocument?.(i + 1);
  }
  return (r, pairs) => {
    const m = byRecord.get(r);
    return pairs.map((p) => m?.get(pairKey(...p)) ?? 0);
  };
}

export interface MentionScores {
  documents: number;
  goldMentions: number;
  predictedMentions: number;
  correct: number;
  precision: number;
  recall: number;
  f1: number;
  /** Gold entities with at least one mention found (exact span). */
  entityRecall: number;
  /** Found mentions whose type is also right. */
  typedCorrect: number;
  msPerDocument: number;
}

/** Mention P/R/F1 (exact character span) of the encoder's mentions on the texts of gold documents. */
export async function scoreMentions(
  encoder: DocumentEncoder,
  records: RelRecord[],
  onDocument?: (done: number, ms: number) => void,
): Promise<MentionScores> {
  let gold = 0;
  let pred = 0;
  let correct = 0;
  let typed = 0;
  let entities = 0;
  let entitiesFound = 0;
  const t0 = Date.now();
  for (const [i, r] of records.entries()) {
    const found = await encoder.mentions(r.text);
    pred += found.length;
    const byspan = new Map(found.map((m) => [`${m.start}:${m.end}`, m.type]));
    for (const e of r.entities) {
      entities++;
      let any = false;
      for (const m of e.mentions) {
        gold++;
        const t = byspan.get(`${m.start}:${m.end}`);
        if (t !== undefined) {
          correct++;
          any = true;
          if (t === (m.type ?? e.type)) typed++;
        }
      }
      if (any) entitiesFound++;
    }
    onDocument?.(i + 1, Date.now() - t0);
  }
  const p = pred ? correct / pred : 0;
  const rc = gold ? correct / gold : 0;
  return {
    documents: records.length,
    goldMentions: gold,
    predictedMentions: pred,
    correct,
    precision: p,
    recall: rc,
    f1: p + rc ? (2 * p * rc) / (p + rc) : 0,
    entityRecall: entities ? entitiesFound / entities : 0,
    typedCorrect: typed,
    msPerDocument: (Date.now() - t0) / Math.max(1, records.length),
  };
}
