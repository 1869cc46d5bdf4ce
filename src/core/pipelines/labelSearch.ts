/**
 * Label scoring: the log-probability of every label as the model's complete answer, i.e. the
 * sum over the label's tokens of log p(token | prompt, previous label tokens) plus the
 * log-probability of ending the answer after it.
 *
 * Labels are organised as a token trie. Each evaluation teacher-forces one label and reads, at
 * every position, the log-probabilities of all trie children there (siblings included), so one
 * evaluation tightens the bounds of many labels. Best-first: the label with the highest upper
 * bound (the exact log-probability of its known prefix) is evaluated next; the search stops
 * when every unevaluated label's bound is below the best exact score minus `margin`. Labels
 * within the margin are exact; the others keep their bound (an upper bound of their true
 * probability, below best·e^-margin).
 */
import { TokenId } from '../ports';

export interface LabelScore {
  label: string;
  /** Log-probability of the label as the whole answer (exact when `exact`, else an upper bound). */
  logprob: number;
  exact: boolean;
  /** Probability renormalised over the label set. */
  probability: number;
}

export interface LabelSearchResult {
  best: LabelScore;
  scores: LabelScore[];
  /** Number of continuation evaluations. */
  evaluations: number;
}

interface TrieNode {
  children: Map<TokenId, TrieNode>;
  /** Labels that end at this node. */
  ends: number[];
  /** Known log-probabilities of the next token at this node (children and END). */
  known?: Map<TokenId, number>;
}

const END = -1;

export class LabelTrie {
  readonly root: TrieNode = { children: new Map(), ends: [] };
  constructor(
    readonly labels: string[],
    readonly tokens: TokenId[][],
  ) {
    tokens.forEach((toks, i) => {
      if (toks.length === 0) throw new Error(`label ${JSON.stringify(labels[i])} has no tokens`);
      let node = this.root;
      for (const t of toks) {
        let next = node.children.get(t);
        if (!next) node.children.set(t, (next = { children: new Map(), ends: [] }));
        node = next;
      }
      node.ends.push(i);
    });
  }

  private node(path: TokenId[]): TrieNode {
    let n = this.root;
    for (const t of path) n = n.children.get(t)!;
    return n;
  }

  /** Candidate tokens at each position along a label's path (the trie children there). */
  candidatesAlong(path: TokenId[], endTokens: TokenId[]): TokenId[][] {
    const out: TokenId[][] = [];
    let n = this.root;
    for (let i = 0; i <= path.length; i++) {
      const c = [...n.children.keys()];
      if (n.ends.length) c.push(...endTokens);
      out.push(c);
      if (i < path.length) n = n.children.get(path[i]!)!;
    }
    return out;
  }

  /** Records evaluated log-probabilities along a path. */
  record(
    path: TokenId[],
    candidates: TokenId[][],
    logprobs: number[][],
    endTokens: TokenId[],
  ): void {
    let n = this.root;
    for (let i = 0; i <= path.length; i++) {
      const known = (n.known ??= new Map());
      const ends: number[] = [];
      candidates[i]!.forEach((t, j) => {
        const lp = logprobs[i]![j]!;
        if (endTokens.includes(t) && n.ends.length) ends.push(lp);
        if (n.children.has(t)) known.set(t, lp);
      });
      if (ends.length) known.set(END, logSumExp(ends));
      if (i < path.length) n = n.children.get(path[i]!)!;
    }
  }

  /** Upper bound (exact when every position is known) of each label's log-probability. */
  bound(i: number): { logprob: number; exact: boolean } {
    let n = this.root;
    let lp = 0;
    for (const t of this.tokens[i]!) {
      const k = n.known?.get(t);
      if (k === undefined) return { logprob: lp, exact: false };
      lp += k;
      n = n.children.get(t)!;
    }
    const e = n.known?.get(END);
    if (e === undefined) return { logprob: lp, exact: false };
    return { logprob: lp + e, exact: true };
  }
}

export function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
}

export type ContinuationFn = (path: TokenId[], candidates: TokenId[][]) => Promise<number[][]>;

export async function scoreLabels(
  trie: LabelTrie,
  endTokens: TokenId[],
  continuation: ContinuationFn,
  margin = Math.log(1e4),
): Promise<LabelSearchResult> {
  let evaluations = 0;
  const n = trie.labels.length;
  for (;;) {
    const bounds = Array.from({ length: n }, (_, i) => trie.bound(i));
    let bestExact = -Infinity;
    for (const b of bounds) if (b.exact && b.logprob > bestExact) bestExact = b.logprob;
    // The open label with the highest bound.
    let pick = -1;
    for (let i = 0; i < n; i++) {
      const b = bounds[i]!;
      if (b.exact) continue;
      if (b.logprob < bestExact - margin) continue;
      if (pick < 0 || b.logprob > bounds[pick]!.logprob) pick = i;
    }
    if (pick < 0) {
      const total = logSumExp(bounds.map((b) => b.logprob));
      const scores = bounds.map((b, i) => ({
        label: trie.labels[i]!,
        logprob: b.logprob,
        exact: b.exact,
        probability: Math.exp(b.logprob - total),
      }));
      const best = scores.reduce((a, b) =>
        b.exact && (!a.exact || b.logprob > a.logprob) ? b : a,
      );
      return { best, scores, evaluations };
    }
    const path = trie.tokens[pick]!;
    const candidates = trie.candidatesAlong(path, endTokens);
    const logprobs = await continuation(path, candidates);
    evaluations++;
    trie.record(path, candidates, logprobs, endTokens);
  }
}

/**
 * Scores labels that each begin with a different token by that first token alone: one read of
 * the next-token distribution after the prompt. Exact for single-token answers (answer codes,
 * where no answer is a prefix of another); the probability is renormalised over the labels.
 */
export async function scoreFirstTokens(
  trie: LabelTrie,
  continuation: ContinuationFn,
): Promise<LabelSearchResult> {
  const first = trie.tokens.map((t) => t[0]!);
  if (new Set(first).size !== first.length)
    throw new Error('first-token scoring needs labels that start with different tokens');
  const [lps] = await continuation([], [first]);
  const total = logSumExp(lps!);
  const scores = trie.labels.map((label, i) => ({
    label,
    logprob: lps![i]!,
    exact: trie.tokens[i]!.length === 1,
    probability: Math.exp(lps![i]! - total),
  }));
  const best = scores.reduce((a, b) => (b.logprob > a.logprob ? b : a));
  return { best, scores, evaluations: 1 };
}
