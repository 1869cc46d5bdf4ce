/**
 * Relation Candidate Proposal (LMRC's RCP stage) without a neural encoder: a logistic-regression
 * pair filter over sparse, named features of an ordered entity pair in a document — entity
 * types, mention counts and positions, sentence and character distances, co-occurrence, whether
 * an entity is the document's subject (its title), the words between the closest mentions, and
 * crosses of these with the type pair (which is how the model learns type-pair relation priors).
 *
 * It is trained in TypeScript (AdaGrad, L2) and saved as a small JSON artefact of named
 * weights, so a person can read why a pair was kept. The ML libraries at hand (ml-logistic-
 * regression on ml-matrix) are dense-only; ~200k pairs × tens of thousands of sparse features
 * would not fit them, hence the few lines of sparse training here.
 */
import { z } from 'zod';
import {
  Entity,
  RelRecord,
  RelationSet,
  candidatePairs,
  entitySentences,
  mentionSentence,
  isLive,
} from '../schema';
import { mulberry32 } from '../util/random';

export const FILTER_FORMAT = 'relation-lens-pair-filter';
export const FEATURES_VERSION = 1;

export const PairFilterSchema = z
  .object({
    format: z.literal(FILTER_FORMAT),
    featuresVersion: z.literal(FEATURES_VERSION),
    bias: z.number(),
    weights: z.record(z.string(), z.number()),
    /** Keep threshold chosen on held-out documents of the training file (probability). */
    threshold: z.number().min(0).max(1),
    targetRecall: z.number().min(0).max(1),
    trainedOn: z
      .object({
        file: z.string().optional(),
        documents: z.number().int(),
        pairs: z.number().int(),
        positives: z.number().int(),
        heldOutDocuments: z.number().int(),
      })
      .passthrough(),
    heldOut: z.object({ recall: z.number(), keptFraction: z.number() }).optional(),
  })
  .strict();
export type PairFilterModel = z.infer<typeof PairFilterSchema>;

interface EntityInfo {
  type: string;
  /** Words of the entity's name and the words right before/after its mentions. */
  nameWords: string[];
  context: string[];
  mentions: number;
  firstSent: number;
  firstStart: number;
  sents: Set<number>;
  title: boolean;
  rank: number;
}

const WORD = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;
const CJK = /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}/u;

function words(s: string): string[] {
  const out: string[] = [];
  for (const m of s.toLowerCase().matchAll(WORD)) {
    const w = m[0];
    if (CJK.test(w)) for (const ch of w) out.push(ch);
    else out.push(/^\p{N}+$/u.test(w) ? '0' : w);
  }
  return out;
}

function bucket(v: number, edges: number[]): string {
  for (const e of edges) if (v <= e) return String(e);
  return `>${edges[edges.length - 1]}`;
}

const norm = (s: string) =>
  s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\p{P}]+/gu, ' ')
    .trim();

function entityInfos(record: RelRecord): Map<string, EntityInfo> {
  const title =
    typeof record.meta?.['title'] === 'string' ? norm(record.meta['title'] as string) : '';
  const counts = record.entities.map((e) => e.mentions.length).sort((a, b) => b - a);
  const out = new Map<string, EntityInfo>();
  for (const e of record.entities) {
    const sents = new Set<number>();
    let firstSent = Infinity;
    let firstStart = Infinity;
    for (const m of e.mentions) {
      const s = mentionSentence(record, m);
      sents.add(s);
      firstSent = Math.min(firstSent, s);
      firstStart = Math.min(firstStart, m.start);
    }
    const names = new Set(
      [e.name, ...e.mentions.map((m) => m.name ?? record.text.slice(m.start, m.end))].map(norm),
    );
    const isTitle =
      title !== '' &&
      [...names].some(
        (n) =>
          n.length > 1 &&
          (n === title || title.startsWith(`${n} `) || title.includes(n) || n.includes(title)),
      );
    const context = new Set<string>();
    for (const m of e.mentions) {
      const before = words(record.text.slice(Math.max(0, m.start - 40), m.start));
      const after = words(record.text.slice(m.end, m.end + 40));
      if (before.length) context.add(`<${before[before.length - 1]}`);
      if (after.length) context.add(`>${after[0]}`);
    }
    out.set(e.id, {
      type: e.type ?? 'NONE',
      nameWords: [...new Set(words(e.name))].slice(0, 6),
      context: [...context],
      mentions: e.mentions.length,
      firstSent: Number.isFinite(firstSent) ? firstSent : 0,
      firstStart: Number.isFinite(firstStart) ? firstStart : 0,
      sents,
      title: isTitle,
      rank: counts.indexOf(e.mentions.length),
    });
  }
  return out;
}

/** The closest same-sentence mention pair's gap and the words between (or null). */
function closestGap(
  record: RelRecord,
  h: Entity,
  t: Entity,
): { gap: number; between: string[]; headFirst: boolean } | null {
  let best: { gap: number; a: number; b: number; headFirst: boolean } | null = null;
  for (const mh of h.mentions)
    for (const mt of t.mentions) {
      const sh = mentionSentence(record, mh);
      const st = mentionSentence(record, mt);
      if (sh !== st) continue;
      const headFirst = mh.start <= mt.start;
      const a = headFirst ? mh.end : mt.end;
      const b = headFirst ? mt.start : mh.start;
      const gap = Math.max(0, b - a);
      if (!best || gap < best.gap) best = { gap, a, b, headFirst };
    }
  if (!best) return null;
  const between = best.b > best.a ? words(record.text.slice(best.a, best.b)) : [];
  return { gap: best.gap, between, headFirst: best.headFirst };
}

/** The closest distance between two sets of sentence indices (Infinity when either is empty). */
function sentenceDistance(a: Iterable<number>, b: Set<number>): number {
  let d = Infinity;
  for (const s of a) for (const u of b) d = Math.min(d, Math.abs(s - u));
  return d;
}

/** Named features of every candidate pair of a record (the pairs of `candidatePairs`). */
export function pairFeatures(
  record: RelRecord,
  pairs: Array<[string, string]> = candidatePairs(record),
): string[][] {
  const info = entityInfos(record);
  const byId = new Map(record.entities.map((e) => [e.id, e]));
  const nEnt = bucket(record.entities.length, [5, 10, 15, 20, 30, 45]);
  // Same-sentence co-occurrence graph: pairs linked through a third entity (A–C, C–B) often
  // hold an inferred relation (X in Y, Y in Z → X in Z).
  const bySent = new Map<number, string[]>();
  for (const [id, e] of info)
    for (const s of e.sents) bySent.set(s, [...(bySent.get(s) ?? []), id]);
  const neighbours = new Map<string, Set<string>>();
  for (const ids of bySent.values())
    for (const a of ids)
      for (const b of ids)
        if (a !== b) (neighbours.get(a) ?? neighbours.set(a, new Set()).get(a)!).add(b);
  return pairs.map(([hid, tid]) => {
    const h = info.get(hid);
    const t = info.get(tid);
    const he = byId.get(hid);
    const te = byId.get(tid);
    if (!h || !t || !he || !te) return ['bias'];
    const tp = `${h.type}>${t.type}`;
    const sd = sentenceDistance(h.sents, t.sents);
    let co = 0;
    for (const s of h.sents) if (t.sents.has(s)) co++;
    const sdB = bucket(sd, [0, 1, 2, 3, 5, 8]);
    const f: string[] = [
      `tp=${tp}`,
      `sd=${sdB}`,
      `tp|sd=${tp}|${sdB}`,
      `co=${bucket(co, [0, 1, 2, 3])}`,
      `tp|co=${tp}|${bucket(co, [0, 1, 2])}`,
      `ht=${+h.title}|tt=${+t.title}`,
      `tp|ht|tt=${tp}|${+h.title}|${+t.title}`,
      `ht|sd=${+h.title}|${sdB}`,
      `tt|sd=${+t.title}|${sdB}`,
      `hm=${bucket(h.mentions, [1, 2, 3, 5])}`,
      `tm=${bucket(t.mentions, [1, 2, 3, 5])}`,
      `hr=${bucket(h.rank, [0, 1, 2, 4])}`,
      `tr=${bucket(t.rank, [0, 1, 2, 4])}`,
      `hs=${bucket(h.firstSent, [0, 1, 2, 4])}`,
      `ts=${bucket(t.firstSent, [0, 1, 2, 4])}`,
      `hs|ts|tp=${bucket(h.firstSent, [0, 2])}|${bucket(t.firstSent, [0, 2])}|${tp}`,
      `ord=${h.firstStart <= t.firstStart ? 'ht' : 'th'}`,
      `tp|ord=${tp}|${h.firstStart <= t.firstStart ? 'ht' : 'th'}`,
      `n=${nEnt}`,
      `n|sd=${nEnt}|${sdB}`,
    ];
    for (const w of h.nameWords) f.push(`hw=${h.type}|${w}`);
    for (const w of t.nameWords) f.push(`tw=${t.type}|${w}`);
    for (const c of h.context) f.push(`hc=${c}`, `hc|tp=${c}|${tp}`);
    for (const c of t.context) f.push(`tc=${c}`, `tc|tp=${c}|${tp}`);
    let via = 0;
    let viaTitle = 0;
    for (const c of neighbours.get(hid) ?? [])
      if (c !== tid && neighbours.get(tid)?.has(c)) {
        via++;
        if (info.get(c)?.title) viaTitle = 1;
      }
    f.push(
      `via=${bucket(via, [0, 1, 2, 4])}|${sdB}`,
      `via|tp=${bucket(via, [0, 2])}|${tp}`,
      `viaT=${viaTitle}|${+h.title}|${+t.title}`,
    );
    const hn = norm(he.name);
    const tn = norm(te.name);
    if (hn && tn && (hn.includes(tn) || tn.includes(hn))) f.push('contain');
    const g = closestGap(record, he, te);
    if (g) {
      const gapB = bucket(g.gap, [2, 5, 10, 20, 40, 80, 160]);
      f.push(`gap=${gapB}`, `tp|gap=${tp}|${gapB}`, `gap|dir=${gapB}|${g.headFirst ? 'ht' : 'th'}`);
      if (g.between.length <= 12) {
        for (const w of new Set(g.between))
          f.push(`bw=${w}`, `tp|bw=${tp}|${w}|${g.headFirst ? 'ht' : 'th'}`);
        f.push(`bwn=${bucket(g.between.length, [0, 1, 2, 4, 8])}`);
      } else f.push('bw=long');
    }
    return f;
  });
}

/** Ordered pairs that hold at least one relation (other than the no-relation label). */
export function goldPairs(record: RelRecord, rs?: RelationSet): Set<string> {
  const out = new Set<string>();
  for (const r of record.relations)
    if (r.label !== rs?.noRelation && isLive(r)) out.add(pairKey(r.head, r.tail));
  return out;
}

export const pairKey = (h: string, t: string): string => `${h}\u0000${t}`;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function scorePairs(
  model: PairFilterModel,
  record: RelRecord,
  pairs: Array<[string, string]> = candidatePairs(record),
): number[] {
  return pairFeatures(record, pairs).map((fs) => {
    let s = model.bias;
    for (const f of fs) s += model.weights[f] ?? 0;
    return sigmoid(s);
  });
}

export interface TrainOptions {
  relationSet?: RelationSet;
  epochs?: number;
  learningRate?: number;
  l2?: number;
  /** Features seen in fewer training pairs are dropped (default: 10 from 100k pairs up, else 2). */
  minCount?: number;
  /** Fraction of documents held out to choose the threshold. */
  heldOut?: number;
  targetRecall?: number;
  seed?: number;
  file?: string;
  onEpoch?: (epoch: number, loss: number) => void;
}

interface Example {
  x: Int32Array;
  y: number;
}

/** Trains the pair filter on labeled documents. */
/** The training pairs as feature-index vectors (features seen fewer than minCount times dropped) and labels. */
function featureData(
  train: RelRecord[],
  opts: TrainOptions,
): { data: Example[]; index: Map<string, number> } {
  const raw: Array<{ fs: string[]; y: number }> = [];
  const counts = new Map<string, number>();
  for (const r of train) {
    const pairs = candidatePairs(r);
    const gold = goldPairs(r, opts.relationSet);
    pairFeatures(r, pairs).forEach((fs, j) => {
      const [h, t] = pairs[j]!;
      raw.push({ fs, y: gold.has(pairKey(h, t)) ? 1 : 0 });
      for (const f of fs) counts.set(f, (counts.get(f) ?? 0) + 1);
    });
  }
  // On Re-DocRED dev (172k pairs) a cut at 10 keeps 32k of 71k features (870 kB instead of 2 MB)
  // with the same recall/kept curve on test.
  const minCount = opts.minCount ?? (raw.length >= 100_000 ? 10 : 2);
  const index = new Map<string, number>();
  for (const [f, c] of counts) if (c >= minCount) index.set(f, index.size);
  const data: Example[] = raw.map(({ fs, y }) => ({
    x: Int32Array.from(fs.map((f) => index.get(f) ?? -1).filter((i) => i >= 0)),
    y,
  }));
  return { data, index };
}

/** Logistic regression by AdaGrad with L2, in a seeded random order each epoch. */
function adagrad(
  data: Example[],
  size: number,
  o: {
    epochs: number;
    learningRate: number;
    l2: number;
    rand: () => number;
    onEpoch?: (epoch: number, loss: number) => void;
  },
): { w: Float64Array; b: number } {
  const { learningRate, l2, rand } = o;
  const w = new Float64Array(size);
  const g2 = new Float64Array(size).fill(1e-8);
  let b = 0;
  let gb = 1e-8;
  const perm = data.map((_, i) => i);
  for (let ep = 0; ep < o.epochs; ep++) {
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    let loss = 0;
    for (const k of perm) {
      const ex = data[k]!;
      let s = b;
      for (const f of ex.x) s += w[f]!;
      const p = sigmoid(s);
      loss -= ex.y ? Math.log(p + 1e-12) : Math.log(1 - p + 1e-12);
      const g = p - ex.y;
      gb += g * g;
      b -= (learningRate * g) / Math.sqrt(gb);
      for (const f of ex.x) {
        const gf = g + l2 * w[f]!;
        g2[f]! += gf * gf;
        w[f]! -= (learningRate * gf) / Math.sqrt(g2[f]!);
      }
    }
    o.onEpoch?.(ep + 1, loss / Math.max(1, data.length));
  }
  return { w, b };
}

export function trainPairFilter(records: RelRecord[], opts: TrainOptions = {}): PairFilterModel {
  const {
    epochs = 6,
    learningRate = 0.2,
    l2 = 1e-6,
    heldOut = 0.1,
    targetRecall = 0.95,
    seed = 13,
  } = opts;
  if (!records.length) throw new Error('no training documents');
  const rand = mulberry32(seed);
  const order = records.map((_, i) => ({ i, r: rand() })).sort((a, b) => a.r - b.r);
  const nHeld = records.length >= 10 ? Math.max(1, Math.round(records.length * heldOut)) : 0;
  const held = new Set(order.slice(0, nHeld).map((o) => o.i));
  const train = records.filter((_, i) => !held.has(i));
  const dev = records.filter((_, i) => held.has(i));

  const { data, index } = featureData(train, opts);
  const { w, b } = adagrad(data, index.size, {
    epochs,
    learningRate,
    l2,
    rand,
    onEpoch: opts.onEpoch,
  });
  const weights: Record<string, number> = {};
  for (const [f, i] of index)
    if (Math.abs(w[i]!) >= 1e-4) weights[f] = Math.round(w[i]! * 1e5) / 1e5;
  const model: PairFilterModel = {
    format: FILTER_FORMAT,
    featuresVersion: FEATURES_VERSION,
    bias: b,
    weights,
    threshold: 0.5,
    targetRecall,
    trainedOn: {
      ...(opts.file ? { file: opts.file } : {}),
      documents: train.length,
      pairs: data.length,
      positives: data.reduce((a, e) => a + e.y, 0),
      heldOutDocuments: dev.length,
    },
  };
  // Threshold: the score at which held-out documents reach the target recall (or, with too few
  // documents to hold any out, the training documents themselves).
  const curve = filterCurve(model, dev.length ? dev : train, opts.relationSet);
  const at = curve.atRecall(targetRecall);
  model.threshold = at.threshold;
  model.heldOut = { recall: at.recall, keptFraction: at.keptFraction };
  return model;
}

export interface CurvePoint {
  threshold: number;
  keptFraction: number;
  recall: number;
}

export interface FilterCurve {
  pairs: number;
  goldPairs: number;
  /** Gold pairs that are not candidates at all (e.g. a pair restricted away); they cap recall. */
  points: CurvePoint[];
  atRecall(target: number): CurvePoint;
  atThreshold(threshold: number): CurvePoint;
}

/** Recall of gold pairs against the fraction of candidate pairs kept, over every threshold. */
/** What scores a record's candidate pairs: the logistic filter, or scores computed elsewhere (the encoder's). */
export type PairScorer =
  PairFilterModel | ((record: RelRecord, pairs: Array<[string, string]>) => number[]);

const scoresOf = (s: PairScorer, r: RelRecord, pairs: Array<[string, string]>) =>
  typeof s === 'function' ? s(r, pairs) : scorePairs(s, r, pairs);

export function filterCurve(
  model: PairScorer,
  records: Iterable<RelRecord>,
  rs?: RelationSet,
): FilterCurve {
  const scored: Array<[number, number]> = [];
  let gold = 0;
  for (const r of records) {
    const pairs = candidatePairs(r);
    const g = goldPairs(r, rs);
    gold += g.size;
    scoresOf(model, r, pairs).forEach((s, j) =>
      scored.push([s, g.has(pairKey(...pairs[j]!)) ? 1 : 0]),
    );
  }
  return curveOf(scored, gold);
}

/** The curve of scored pairs ([score, 1 if gold]) against `gold` gold pairs in all. */
export function curveOf(scored: Array<[number, number]>, gold: number): FilterCurve {
  scored.sort((a, b) => b[0] - a[0]);
  const n = scored.length;
  const all: CurvePoint[] = [];
  let hit = 0;
  for (let i = 0; i < n; i++) {
    hit += scored[i]![1];
    // Only at the end of a run of equal scores is "keep score ≥ s" a real threshold.
    if (i + 1 < n && scored[i + 1]![0] === scored[i]![0]) continue;
    all.push({
      threshold: scored[i]![0],
      keptFraction: (i + 1) / n,
      recall: gold ? hit / gold : 1,
    });
  }
  const none: CurvePoint = { threshold: 1, keptFraction: 0, recall: gold ? 0 : 1 };
  return {
    pairs: n,
    goldPairs: gold,
    points: all,
    atRecall: (target) => all.find((p) => p.recall >= target) ?? all[all.length - 1] ?? none,
    atThreshold: (th) => {
      let last = none;
      for (const p of all) {
        if (p.threshold < th) break;
        last = p;
      }
      return last;
    },
  };
}

export interface DistanceRow {
  /** Closest sentence distance between the two entities' mentions: "0" (same sentence) … "4+". */
  distance: string;
  pairs: number;
  goldPairs: number;
  kept: number;
  goldKept: number;
}

/**
 * Where the related pairs are and what the filter keeps of them at `threshold`, by the closest
 * sentence distance of the two entities' mentions (a report of what any pair filter faces).
 */
export function filterBySentenceDistance(
  model: PairScorer,
  records: Iterable<RelRecord>,
  threshold: number,
  rs?: RelationSet,
): DistanceRow[] {
  const names = ['0', '1', '2', '3', '4+'];
  const rows = names.map((distance) => ({
    distance,
    pairs: 0,
    goldPairs: 0,
    kept: 0,
    goldKept: 0,
  }));
  for (const r of records) {
    const pairs = candidatePairs(r);
    const g = goldPairs(r, rs);
    const sents = new Map(r.entities.map((e) => [e.id, entitySentences(r, e)]));
    scoresOf(model, r, pairs).forEach((score, j) => {
      const [h, t] = pairs[j]!;
      const d = sentenceDistance(sents.get(h) ?? [], sents.get(t) ?? new Set());
      const row = rows[Math.min(4, Number.isFinite(d) ? d : 4)]!;
      const y = g.has(pairKey(h, t));
      const keep = score >= threshold;
      row.pairs++;
      if (y) row.goldPairs++;
      if (keep) row.kept++;
      if (y && keep) row.goldKept++;
    });
  }
  return rows;
}

/** A few points of a curve for reports: at fixed kept fractions and recall levels. */
export function summarizeCurve(c: FilterCurve): {
  byKept: CurvePoint[];
  byRecall: Array<CurvePoint & { target: number }>;
} {
  const round = (p: CurvePoint): CurvePoint => ({
    threshold: +p.threshold.toPrecision(6),
    keptFraction: +p.keptFraction.toFixed(5),
    recall: +p.recall.toFixed(5),
  });
  const byKept: CurvePoint[] = [];
  for (const k of [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1]) {
    let last: CurvePoint | undefined;
    for (const p of c.points) {
      if (p.keptFraction > k + 1e-12) break;
      last = p;
    }
    if (last) byKept.push(round(last));
  }
  const byRecall = [0.5, 0.8, 0.9, 0.95, 0.97, 0.99].map((target) => ({
    target,
    ...round(c.atRecall(target)),
  }));
  return { byKept, byRecall };
}

export function parsePairFilter(text: string, file: string): PairFilterModel {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${file}: not a pair filter (invalid JSON: ${e instanceof Error ? e.message : String(e)})`,
      { cause: e },
    );
  }
  const p = PairFilterSchema.safeParse(v);
  if (!p.success) {
    const fmt = (v as { format?: unknown } | null)?.format;
    if (fmt !== FILTER_FORMAT)
      throw new Error(
        `${file}: not a Relation Lens pair filter (made by \`relation-lens train-filter\`)`,
      );
    throw new Error(
      `${file}: invalid pair filter: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return p.data;
}
