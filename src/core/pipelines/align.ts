/**
 * Alignment of generated triples back to the document (LMRC): entity strings → entity ids,
 * relation strings → labels of the relation set. Every decision says how it was made, and
 * everything that cannot be aligned is reported with a reason, never guessed.
 *
 *  - entities: exact name > normalized (Unicode NFKC, case, punctuation, spaces, Traditional →
 *    Simplified Chinese) > fuzzy (fuzzball, a port of thefuzz which the seed uses) above a
 *    threshold; ties between different entities are ambiguous and dropped;
 *  - relations: exact > normalized > fuzzy string ratio > embedding cosine similarity ≥ θ (the
 *    seed's SBERT step, with any embedder); "None"/"no relation" means no relation; a "-"
 *    (the input's placeholder, copied back by the model) is dropped as such.
 */
import * as fuzz from 'fuzzball';
import { Generation } from '../ports';
import { Entity, RelRecord, Relation } from '../schema';
import type { DocBatch } from './docPlan';
import { DocReport, bump } from './docReport';
import { pairKey } from './pairFilter';
import { cosine } from '../retrieval/searchers';

// opencc-js ships its types as ESM; its CommonJS build (what esbuild bundles) has the same API.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const OpenCC = require('opencc-js/t2cn') as {
  Converter(o: { from: string; to: string }): (s: string) => string;
};

let toSimplified: ((s: string) => string) | undefined;
function simplified(s: string): string {
  // Only strings with Han characters need the conversion table.
  if (!/\p{Script=Han}/u.test(s)) return s;
  toSimplified ??= OpenCC.Converter({ from: 't', to: 'cn' });
  return toSimplified(s);
}

/** Case-, width-, punctuation- and script-variant-insensitive form of a name. */
export function normalizeName(s: string): string {
  return simplified(s.normalize('NFKC'))
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}]+/gu, ' ')
    .trim();
}

export type EntityMatch =
  | { id: string; how: 'exact' | 'normalized' | 'fuzzy'; score: number }
  | { id: null; reason: 'empty' | 'no-match' | 'ambiguous'; best?: { id: string; score: number } };

export interface EntityIndex {
  match(name: string): EntityMatch;
}

/**
 * Builds a matcher over entities and their mention names. `fuzzyThreshold` is on fuzzball's
 * 0–100 scale (WRatio); 0 disables fuzzy matching.
 */
export function entityIndex(
  entities: Array<Pick<Entity, 'id' | 'name'> & { aliases?: string[] }>,
  fuzzyThreshold = 88,
): EntityIndex {
  const exact = new Map<string, Set<string>>();
  const normalized = new Map<string, Set<string>>();
  const choices: Array<{ id: string; name: string; norm: string }> = [];
  const add = (m: Map<string, Set<string>>, k: string, id: string) =>
    (m.get(k) ?? m.set(k, new Set()).get(k)!).add(id);
  for (const e of entities) {
    for (const n of new Set([e.name, ...(e.aliases ?? [])])) {
      if (!n) continue;
      add(exact, n, e.id);
      const nn = normalizeName(n);
      if (nn) {
        add(normalized, nn, e.id);
        choices.push({ id: e.id, name: n, norm: nn });
      }
    }
  }
  const one = (ids: Set<string> | undefined) =>
    ids && ids.size === 1 ? [...ids][0]! : ids && ids.size > 1 ? null : undefined;
  return {
    match(raw: string): EntityMatch {
      const name = raw.trim();
      if (!name) return { id: null, reason: 'empty' };
      const e = one(exact.get(name));
      if (e) return { id: e, how: 'exact', score: 100 };
      if (e === null) return { id: null, reason: 'ambiguous' };
      const nn = normalizeName(name);
      const n = one(normalized.get(nn));
      if (n) return { id: n, how: 'normalized', score: 100 };
      if (n === null) return { id: null, reason: 'ambiguous' };
      if (fuzzyThreshold <= 0 || !nn) return { id: null, reason: 'no-match' };
      let best: { id: string; score: number } | undefined;
      let tie = false;
      for (const c of choices) {
        const s = fuzz.WRatio(nn, c.norm, { full_process: false });
        if (!best || s > best.score) {
          tie = false;
          best = { id: c.id, score: s };
        } else if (s === best.score && c.id !== best.id) tie = true;
      }
      if (!best || best.score < fuzzyThreshold)
        return best ? { id: null, reason: 'no-match', best } : { id: null, reason: 'no-match' };
      if (tie) return { id: null, reason: 'ambiguous', best };
      return { id: best.id, how: 'fuzzy', score: best.score };
    },
  };
}

/** Turns text into a vector (an embedding model, or the LLM's embedding context). */
export interface TextEmbedder {
  embed(text: string): Promise<number[]>;
}

export type RelationMatch =
  | { label: string; how: 'exact' | 'normalized' | 'fuzzy' | 'semantic'; score: number }
  | { label: null; none: true; how: 'exact' | 'normalized' }
  | {
      label: null;
      none?: false;
      reason: 'placeholder' | 'empty' | 'out-of-set';
      best?: { label: string; score: number };
    };

export interface RelationAlignOptions {
  /** Words that mean "no relation" (compared normalized). */
  noneWords?: string[];
  /** fuzzball ratio (0–100) at or above which a near-miss name is accepted; 0 disables. */
  fuzzyThreshold?: number;
  /** Embedding cosine similarity θ at or above which an out-of-set name is mapped (seed: ≈ 0.55). */
  theta?: number;
  embedder?: TextEmbedder;
}

const DEFAULT_NONE = [
  'None',
  'NA',
  'N/A',
  'no relation',
  'no_relation',
  'unknown',
  'Other',
  '无',
  '没有关系',
  '无关系',
];

export class RelationAligner {
  private readonly exact: Set<string>;
  private readonly normalized = new Map<string, string>();
  private readonly none: Set<string>;
  private labelVectors?: Promise<number[][]>;
  private readonly cache = new Map<string, Promise<RelationMatch>>();

  constructor(
    private readonly labels: string[],
    private readonly opts: RelationAlignOptions = {},
  ) {
    this.exact = new Set(labels);
    for (const l of labels)
      if (!this.normalized.has(normalizeName(l))) this.normalized.set(normalizeName(l), l);
    this.none = new Set((opts.noneWords ?? DEFAULT_NONE).map(normalizeName));
  }

  align(raw: string): Promise<RelationMatch> {
    const key = raw.trim();
    let p = this.cache.get(key);
    if (!p) this.cache.set(key, (p = this.alignUncached(key)));
    return p;
  }

  private async alignUncached(s: string): Promise<RelationMatch> {
    if (!s) return { label: null, reason: 'empty' };
    if (/^[-–—_]+$/.test(s)) return { label: null, reason: 'placeholder' };
    if (this.exact.has(s)) return { label: s, how: 'exact', score: 1 };
    const n = normalizeName(s);
    const byNorm = this.normalized.get(n);
    if (byNorm) return { label: byNorm, how: 'normalized', score: 1 };
    if (this.none.has(n))
      return { label: null, none: true, how: s === 'None' ? 'exact' : 'normalized' };
    let best: { label: string; score: number } | undefined;
    const ft = this.opts.fuzzyThreshold ?? 90;
    if (ft > 0) {
      for (const l of this.labels) {
        const r = fuzz.ratio(n, normalizeName(l), { full_process: false });
        if (!best || r > best.score) best = { label: l, score: r };
      }
      if (best && best.score >= ft)
        return { label: best.label, how: 'fuzzy', score: best.score / 100 };
    }
    const embedder = this.opts.embedder;
    if (embedder) {
      this.labelVectors ??= (async () => {
        const out: number[][] = [];
        for (const l of this.labels) out.push(await embedder.embed(l));
        return out;
      })();
      const vs = await this.labelVectors;
      const v = await embedder.embed(s);
      let sem: { label: string; score: number } | undefined;
      vs.forEach((lv, i) => {
        const c = cosine(v, lv);
        if (!sem || c > sem.score) sem = { label: this.labels[i]!, score: c };
      });
      if (sem && sem.score >= (this.opts.theta ?? 0.55))
        return { label: sem.label, how: 'semantic', score: sem.score };
      return { label: null, reason: 'out-of-set', best: sem };
    }
    return {
      label: null,
      reason: 'out-of-set',
      best: best ? { label: best.label, score: best.score / 100 } : undefined,
    };
  }
}

export interface ParsedTriple {
  head: string;
  relation: string;
  tail: string;
  /** Sentence numbers after the tail (`(head| relation| tail| 0, 3)`), when the line gives them. */
  evidence?: number[];
  /** 1-based line of the model output. */
  line: number;
}

/** A last field of sentence numbers: `0, 3`, `[0,3]`, `sentences 0 3`. */
const EVIDENCE = /^\s*(?:sentences?\s*)?\[?\s*(\d+(?:\s*[,，、\s]\s*\d+)*)\s*\]?\s*$/iu;

/**
 * Reads `(head| relation| tail)` lines leniently: bullets and numbering before the parenthesis,
 * a missing closing parenthesis, `|` or `｜` separators and surrounding spaces are accepted; a
 * fourth field of sentence numbers is read as evidence.
 * Lines that are not triples are returned as `bad` (counted in reports; never fatal).
 */
export function parseTriples(output: string): {
  triples: ParsedTriple[];
  bad: Array<{ line: number; text: string }>;
} {
  const triples: ParsedTriple[] = [];
  const bad: Array<{ line: number; text: string }> = [];
  output.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (!line) return;
    const m = /^(?:[-*•]\s*|\d+[.)]\s*)?\((.*?)\)?\s*[.,;]?$/u.exec(line);
    if (!m) return void bad.push({ line: i + 1, text: rawLine });
    const parts = m[1]!.split(/[|｜]/u);
    // A fourth field of sentence numbers is evidence: (head| relation| tail| 0, 3).
    const ev = parts.length >= 4 ? EVIDENCE.exec(parts[parts.length - 1]!) : null;
    if (ev) parts.pop();
    if (parts.length < 3) return void bad.push({ line: i + 1, text: rawLine });
    const head = parts[0]!.trim();
    const tail = parts[parts.length - 1]!.trim();
    const relation = parts.slice(1, -1).join('|').trim();
    if (!head || !tail) return void bad.push({ line: i + 1, text: rawLine });
    const t: ParsedTriple = { head, relation, tail, line: i + 1 };
    if (ev)
      t.evidence = [
        ...new Set(
          ev[1]!
            .split(/[,，、\s]+/u)
            .filter(Boolean)
            .map(Number),
        ),
      ].sort((a, b) => a - b);
    triples.push(t);
  });
  return { triples, bad };
}

/** One prompt's generated answer (document level). */
export interface BatchOutput {
  index: number;
  batch: DocBatch;
  generation: Generation;
}

/** What aligning a document's outputs needs and where it puts its results. */
export interface BatchAlignContext {
  record: RelRecord;
  /** The document's entities by id. */
  entities: Map<string, Entity>;
  /** Matcher over the document's entities and their mentions (fuzzy). */
  docIndex: EntityIndex;
  aligner: RelationAligner;
  /** Candidate-stage scores by pair key (null: no score). */
  scores: Map<string, number | null>;
  model: string;
  /** Evidence was asked for: the sentence numbers a whole-document prompt showed. */
  allSentences?: number[];
  report: DocReport;
  /** Relations found so far, by head/tail/label (a repeat is counted, kept once). */
  predicted: Map<string, Relation>;
}

/**
 * Aligns one prompt's output lines to the document: each `(head| relation| tail)` line becomes a
 * relation of the set between two entities, or is counted under the reason it was dropped
 * (malformed line, relation not aligned, head/tail not found or ambiguous, same entity).
 * Entity names are matched first among the prompt's own pairs (exact), then the whole document.
 */
export async function alignBatchOutput(o: BatchOutput, ctx: BatchAlignContext): Promise<void> {
  const { report } = ctx;
  const b = o.batch;
  report.generatedTokens += o.generation.tokens;
  if (o.generation.truncated) report.truncatedOutputs++;
  const batchIndex = entityIndex(
    [...new Set(b.pairs.flat())].map((id) => ({ id, name: ctx.entities.get(id)!.name })),
    0,
  );
  const drop = (line: number, text: string, reason: string) => {
    bump(report.dropped, reason);
    if (report.dropExamples.length < 5)
      report.dropExamples.push({ prompt: o.index, line, text, reason });
  };
  const { triples, bad } = parseTriples(o.generation.text);
  report.outputLines += triples.length + bad.length;
  report.malformedLines += bad.length;
  for (const x of bad) drop(x.line, x.text, 'malformed-line');
  report.triples += triples.length;
  const local = (n: string): EntityMatch => {
    const m = batchIndex.match(n);
    return m.id !== null ? m : ctx.docIndex.match(n);
  };
  for (const tr of triples) {
    const text = `(${tr.head}| ${tr.relation}| ${tr.tail})`;
    const rel = await ctx.aligner.align(tr.relation);
    if (rel.label === null) {
      if (rel.none) report.noneAnswers++;
      else drop(tr.line, text, `relation-${rel.reason}`);
      continue;
    }
    const h = local(tr.head);
    const t = local(tr.tail);
    if (h.id === null) drop(tr.line, text, `head-${h.reason}`);
    else if (t.id === null) drop(tr.line, text, `tail-${t.reason}`);
    else if (h.id === t.id) drop(tr.line, text, 'same-entity');
    else addRelation(ctx, o, tr, { h, t, rel, text });
  }
}

type Aligned = { id: string; how: 'exact' | 'normalized' | 'fuzzy' };

/** Records one aligned triple as a relation (with how it was aligned, its window and evidence). */
function addRelation(
  ctx: BatchAlignContext,
  o: BatchOutput,
  tr: ParsedTriple,
  m: { h: Aligned; t: Aligned; rel: Extract<RelationMatch, { label: string }>; text: string },
): void {
  const { report } = ctx;
  const b = o.batch;
  const { h, t, rel } = m;
  bump(report.aligned.entity, h.how);
  bump(report.aligned.entity, t.how);
  bump(report.aligned.relation, rel.how);
  if (!b.pairs.some(([a, c]) => a === h.id && c === t.id)) report.outsidePrompt++;
  const key = `${h.id}\u0000${t.id}\u0000${rel.label}`;
  if (ctx.predicted.has(key)) {
    report.duplicates++;
    return;
  }
  const score = ctx.scores.get(pairKey(h.id, t.id));
  const r: Relation = { head: h.id, tail: t.id, label: rel.label, source: 'model' };
  if (typeof score === 'number') r.score = Number(score.toFixed(6));
  const meta: Record<string, unknown> = { model: ctx.model, prompt: o.index, line: tr.line };
  if (h.how !== 'exact' || t.how !== 'exact' || rel.how !== 'exact')
    meta['aligned'] = { head: h.how, tail: t.how, relation: rel.how, generated: m.text };
  if (b.window) meta['window'] = b.window;
  if (tr.evidence && ctx.allSentences) {
    // Only sentences the prompt showed count as evidence.
    const shown = new Set(b.window ?? ctx.allSentences);
    const ok = tr.evidence.filter((x) => shown.has(x));
    report.evidenceGiven += ok.length;
    report.evidenceIgnored += tr.evidence.length - ok.length;
    if (ok.length) r.evidence = ok;
  }
  r.meta = meta;
  ctx.predicted.set(key, r);
}
