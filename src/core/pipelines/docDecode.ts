/**
 * Greedy decoding of a document prompt's answer by walking the lines the answer grammar allows
 * (`answerGrammar` without evidence): for each pair, in order, one to `maxPerPair` lines
 * `(head| relation| tail)`. Every allowed line is tokenized whole (the tokens the model saw in
 * training), the lines allowed at a point form a token trie, and the model is asked only where
 * the trie branches — where the grammar would let it choose. Tokens the answer's structure
 * forces (the names, the brackets) are never generated one by one: they go into the next
 * scored evaluation as one batch, and those at the end of the answer are not evaluated at all.
 *
 * Compared with grammar-constrained generation (one decode step per answer token), the answer
 * is the greedy one over the same choices, spelled in canonical tokens; a line the grammar
 * would accept in other tokens is not reached. Needs an engine whose `continuation` keeps the
 * answer path in its cache (`EngineInfo.incrementalScoring`).
 */
import { Generation, PromptSession, TokenId } from '../ports';

/** What the walk asks of the engine: the tokens of a line as the answer spells it. */
export interface WalkTokenizer {
  tokenizeLabel(text: string): Promise<TokenId[]>;
  readonly endTokens: TokenId[];
}

/** Token sequences of answer lines, tokenized once per text (per document); the end tokens. */
export class LineTokens {
  private readonly cache = new Map<string, Promise<TokenId[]>>();
  readonly endTokens: TokenId[];
  constructor(private readonly tokenizer: WalkTokenizer) {
    this.endTokens = tokenizer.endTokens;
  }
  get(text: string): Promise<TokenId[]> {
    let t = this.cache.get(text);
    if (!t) this.cache.set(text, (t = this.tokenizer.tokenizeLabel(text)));
    return t;
  }
}

/** The text of one answer line. */
export const answerLine = (head: string, relation: string, tail: string): string =>
  `(${head}| ${relation}| ${tail})\n`;

interface Option {
  /** The pair the line answers; -1: the end of the answer. */
  pair: number;
  text: string;
  tokens: TokenId[];
}

/** Stands for the end of the answer in the trie (any of the engine's end tokens). */
const END = -1;

export interface WalkResult extends Generation {
  /** Scored evaluations (branch points). */
  evaluations: number;
}

/**
 * Walks the answer of one prompt: `pairs` as names, `answers` the relation names (None
 * included when allowed). Stops with `truncated` when the answer would pass `maxTokens`.
 */
/** The options grouped by their token at `depth`. */
function byToken(alive: Option[], depth: number): Map<TokenId, Option[]> {
  const next = new Map<TokenId, Option[]>();
  for (const o of alive) {
    const t = o.tokens[depth];
    // A line that is a prefix of another in tokens cannot happen (each ends its line).
    if (t === undefined)
      throw new Error(`internal error: line ${JSON.stringify(o.text)} ended early`);
    const list = next.get(t);
    if (list) list.push(o);
    else next.set(t, [o]);
  }
  return next;
}

/** Which of `keys` the model puts next after `path` (END: its likeliest end token). */
async function ask(
  session: Pick<PromptSession, 'continuation'>,
  path: TokenId[],
  keys: TokenId[],
  endTokens: TokenId[],
): Promise<TokenId> {
  const cands = keys.flatMap((k) => (k === END ? endTokens : [k]));
  const candidates: TokenId[][] = Array.from({ length: path.length + 1 }, () => []);
  candidates[path.length] = cands;
  const lps = (await session.continuation(path, candidates))[path.length]!;
  const score = new Map<TokenId, number>();
  cands.forEach((c, j) => {
    const k = endTokens.includes(c) && keys.includes(END) ? END : c;
    score.set(k, Math.max(score.get(k) ?? -Infinity, lps[j]!));
  });
  return keys.reduce((a, b) => (score.get(b)! > score.get(a)! ? b : a));
}

export interface WalkQuestion {
  /** The prompt's pairs, as names, in order. */
  pairs: Array<[string, string]>;
  /** The relation names a line may give (None included when allowed): one list for every pair, or one per pair. */
  answers: string[] | string[][];
  maxPerPair: number;
  maxTokens: number;
}

export async function walkAnswer(
  session: Pick<PromptSession, 'continuation'>,
  lines: LineTokens,
  { pairs, answers, maxPerPair, maxTokens }: WalkQuestion,
): Promise<WalkResult> {
  const endTokens = lines.endTokens;
  if (!endTokens.length) throw new Error('the engine names no end-of-answer token');
  const maxPer = Math.max(1, maxPerPair);
  const path: TokenId[] = [];
  let text = '';
  let evaluations = 0;
  const answersOf = (i: number): string[] => {
    const a = typeof answers[0] === 'string' ? (answers as string[]) : (answers as string[][])[i];
    if (!a?.length) throw new Error(`no answer allowed for the pair ${JSON.stringify(pairs[i])}`);
    return a;
  };
  const linesOf = async (i: number): Promise<Option[]> =>
    Promise.all(
      answersOf(i).map(async (r) => {
        const t = answerLine(pairs[i]![0], r, pairs[i]![1]);
        return { pair: i, text: t, tokens: await lines.get(t) };
      }),
    );
  const endOption: Option = { pair: -1, text: '', tokens: [END] };
  let pair = 0;
  let given = 0; // lines the current pair has
  while (pair < pairs.length) {
    // The lines allowed here: the current pair's (it must answer once, may answer maxPer
    // times), then the next pair's, or the end after the last pair.
    const options: Option[] = [];
    const seen = new Set<string>();
    const add = (os: Option[]) => {
      for (const o of os) {
        if (seen.has(o.text)) continue;
        seen.add(o.text);
        options.push(o);
      }
    };
    // A line the next pair would also give (the same names) counts as the next pair's.
    if (given >= 1) add(pair + 1 < pairs.length ? await linesOf(pair + 1) : [endOption]);
    if (given < maxPer) add(await linesOf(pair));
    let alive = options;
    let depth = 0;
    while (alive.length > 1) {
      const next = byToken(alive, depth);
      let chosen: TokenId;
      if (next.size === 1) chosen = next.keys().next().value!;
      else {
        chosen = await ask(session, path, [...next.keys()], endTokens);
        evaluations++;
      }
      alive = next.get(chosen)!;
      if (chosen !== END) path.push(chosen);
      depth++;
      if (path.length >= maxTokens)
        return { text, tokens: path.length, truncated: true, evaluations };
    }
    const line = alive[0]!;
    if (line.pair === -1) break;
    for (const t of line.tokens.slice(depth)) path.push(t);
    if (path.length > maxTokens) return { text, tokens: path.length, truncated: true, evaluations };
    text += line.text;
    if (line.pair === pair) given++;
    else {
      pair = line.pair;
      given = 1;
    }
    if (pair === pairs.length - 1 && given >= maxPer) break;
  }
  return { text, tokens: path.length, truncated: false, evaluations };
}
