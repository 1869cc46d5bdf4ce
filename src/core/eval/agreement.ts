/**
 * Inter-annotator agreement on relation annotations: two or more curated versions of the same
 * records (matched by id). The unit is an entity pair of a record (unordered; a relation's
 * direction is part of its category), compared where every annotator has decided it (no
 * prediction on it pending review). An annotator's category for a pair is the set of relations a
 * person settled on it (gold, added or edited by a person, accepted predictions; not rejected
 * ones), the relation set's no-relation label counting as none.
 *
 *  - Cohen's kappa for two annotators, Fleiss' kappa for more (nominal categories);
 *  - relation-level F1 of one annotator against another (the first as the reference), overall
 *    and per relation;
 *  - the records where they differ, for adjudication.
 */
import { isPending } from '../curation';
import { RelRecord, Relation, candidatePairs, unorderedPairKey as pairKey } from '../schema';
import { trusted } from '../training/trainingSet';

export interface Annotation {
  /** The annotator (a name, or the file's). */
  name: string;
  records: RelRecord[];
}

export interface PairUnit {
  record: string;
  /** The pair, in the order first met (`a`, `b` entity ids). */
  a: string;
  b: string;
  /** Each annotator's category: sorted `label` / `label(←)` (tail → head) tokens, `''` for none. */
  categories: string[];
}

/** Cohen's kappa of two annotators' categories: (p_o − p_e) / (1 − p_e). */
export function cohenKappa(
  x: string[],
  y: string[],
): { kappa: number; observed: number; expected: number } {
  if (x.length !== y.length) throw new Error('cohenKappa: two ratings per item');
  const n = x.length;
  if (!n) return { kappa: Number.NaN, observed: Number.NaN, expected: Number.NaN };
  const cx = new Map<string, number>();
  const cy = new Map<string, number>();
  let same = 0;
  for (let i = 0; i < n; i++) {
    if (x[i] === y[i]) same++;
    cx.set(x[i]!, (cx.get(x[i]!) ?? 0) + 1);
    cy.set(y[i]!, (cy.get(y[i]!) ?? 0) + 1);
  }
  const observed = same / n;
  let expected = 0;
  for (const [c, k] of cx) expected += (k / n) * ((cy.get(c) ?? 0) / n);
  return { kappa: kappaOf(observed, expected), observed, expected };
}

/**
 * Fleiss' kappa: `counts[i][c]` = how many of the m raters put item i in category c (every row
 * sums to m ≥ 2).
 */
export function fleissKappa(counts: number[][]): {
  kappa: number;
  observed: number;
  expected: number;
} {
  const n = counts.length;
  if (!n) return { kappa: Number.NaN, observed: Number.NaN, expected: Number.NaN };
  const m = counts[0]!.reduce((a, b) => a + b, 0);
  if (m < 2 || counts.some((r) => r.reduce((a, b) => a + b, 0) !== m))
    throw new Error('fleissKappa: every item needs the same number (≥ 2) of ratings');
  const k = counts[0]!.length;
  const totals = new Array<number>(k).fill(0);
  let sumP = 0;
  for (const row of counts) {
    let sq = 0;
    row.forEach((c, j) => {
      totals[j]! += c;
      sq += c * c;
    });
    sumP += (sq - m) / (m * (m - 1));
  }
  const observed = sumP / n;
  const expected = totals.reduce((a, t) => a + (t / (n * m)) ** 2, 0);
  return { kappa: kappaOf(observed, expected), observed, expected };
}

/** (p_o − p_e) / (1 − p_e); when chance agreement is certain (one category only): 1 if they all agree. */
const kappaOf = (observed: number, expected: number): number =>
  expected >= 1 ? (observed >= 1 ? 1 : 0) : (observed - expected) / (1 - expected);

/** The relations of a record by unordered pair, and the pairs with a prediction pending review. */
function byPair(r: RelRecord): { settled: Map<string, Relation[]>; pending: Set<string> } {
  const settled = new Map<string, Relation[]>();
  const pending = new Set<string>();
  for (const x of r.relations) {
    const k = pairKey(x.head, x.tail);
    if (isPending(x)) pending.add(k);
    else if (trusted(x) !== undefined) settled.set(k, [...(settled.get(k) ?? []), x]);
  }
  return { settled, pending };
}

/** One annotator's category of the pair (a, b): its settled labels, with their direction. */
function category(rels: Relation[] | undefined, a: string, noRelation: string | null): string {
  const tokens = (rels ?? [])
    .filter((x) => x.label !== noRelation)
    .map((x) => (x.head === a ? x.label : `${x.label}(←)`));
  return [...new Set(tokens)].sort().join(' | ');
}

export interface AgreementUnits {
  /** Ids of the records every annotation has. */
  records: string[];
  units: PairUnit[];
  /** Pairs left out: a prediction on them is pending review in some annotation. */
  pendingPairs: number;
}

/** The pairs every annotator decided, with each annotator's category. */
export function agreementUnits(anns: Annotation[], noRelation: string | null): AgreementUnits {
  if (anns.length < 2) throw new Error('agreement needs two or more annotations');
  const maps = anns.map((a) => new Map(a.records.map((r) => [r.id, r])));
  const ids = anns[0]!.records.map((r) => r.id).filter((id) => maps.every((m) => m.has(id)));
  const units: PairUnit[] = [];
  let pendingPairs = 0;
  for (const id of ids) {
    const recs = maps.map((m) => m.get(id)!);
    const parts = recs.map(byPair);
    // The pairs: the first record's candidates, then any pair someone annotated.
    const pairs = new Map<string, [string, string]>();
    for (const [a, b] of candidatePairs(recs[0]!))
      if (!pairs.has(pairKey(a, b))) pairs.set(pairKey(a, b), [a, b]);
    for (const r of recs)
      for (const x of r.relations)
        if (!pairs.has(pairKey(x.head, x.tail)))
          pairs.set(pairKey(x.head, x.tail), [x.head, x.tail]);
    for (const [k, [a, b]] of pairs) {
      if (parts.some((p) => p.pending.has(k))) {
        pendingPairs++;
        continue;
      }
      units.push({
        record: id,
        a,
        b,
        categories: parts.map((p) => category(p.settled.get(k), a, noRelation)),
      });
    }
  }
  return { records: ids, units, pendingPairs };
}

export interface PairwiseF1 {
  reference: string;
  other: string;
  precision: number;
  recall: number;
  f1: number;
  /** Per relation label: the reference's and the other's relations, and those both have. */
  perRelation: Record<string, { reference: number; other: number; both: number; f1: number }>;
}

/** Relation-level F1 of annotator `j` against annotator `i` (the reference) on the units. */
export function pairwiseF1(units: PairUnit[], names: string[], i: number, j: number): PairwiseF1 {
  const per = new Map<string, { reference: number; other: number; both: number }>();
  const at = (l: string) => {
    let c = per.get(l);
    if (!c) per.set(l, (c = { reference: 0, other: 0, both: 0 }));
    return c;
  };
  const tokens = (c: string) => (c ? c.split(' | ') : []);
  let ref = 0;
  let oth = 0;
  let both = 0;
  for (const u of units) {
    const x = new Set(tokens(u.categories[i]!));
    const y = new Set(tokens(u.categories[j]!));
    const label = (t: string) => t.replace(/\(←\)$/, '');
    for (const t of x) at(label(t)).reference++;
    for (const t of y) at(label(t)).other++;
    for (const t of x)
      if (y.has(t)) {
        at(label(t)).both++;
        both++;
      }
    ref += x.size;
    oth += y.size;
  }
  const f = (b: number, r: number, o: number) => (r + o ? (2 * b) / (r + o) : 1);
  const perRelation: PairwiseF1['perRelation'] = {};
  for (const [l, c] of [...per].sort(([a], [b]) => a.localeCompare(b)))
    perRelation[l] = { ...c, f1: f(c.both, c.reference, c.other) };
  return {
    reference: names[i]!,
    other: names[j]!,
    precision: oth ? both / oth : 1,
    recall: ref ? both / ref : 1,
    f1: f(both, ref, oth),
    perRelation,
  };
}

export interface AgreementReport {
  annotators: string[];
  /** Records every annotation has; pairs compared; pairs left out (pending review). */
  records: number;
  pairs: number;
  pendingPairs: number;
  /** Cohen's (two annotators) or Fleiss' (more) kappa. */
  kappaKind: 'cohen' | 'fleiss';
  kappa: number;
  observed: number;
  expected: number;
  /** F1 of each later annotator against the first, and of every other ordered pair after them. */
  pairwise: PairwiseF1[];
  /** Ids of the records with a pair the annotators put in different categories (file order). */
  disagreements: string[];
  /** The pairs compared, with each annotator's category (what the figures count). */
  units: PairUnit[];
}

export function agreement(anns: Annotation[], noRelation: string | null): AgreementReport {
  const names = anns.map((a) => a.name);
  const { records, units, pendingPairs } = agreementUnits(anns, noRelation);
  let k: { kappa: number; observed: number; expected: number };
  if (anns.length === 2)
    k = cohenKappa(
      units.map((u) => u.categories[0]!),
      units.map((u) => u.categories[1]!),
    );
  else {
    const cats = [...new Set(units.flatMap((u) => u.categories))];
    k = fleissKappa(units.map((u) => cats.map((c) => u.categories.filter((x) => x === c).length)));
  }
  const pairwise: PairwiseF1[] = [];
  for (let i = 0; i < anns.length; i++)
    for (let j = i + 1; j < anns.length; j++) pairwise.push(pairwiseF1(units, names, i, j));
  const differ = new Set(units.filter((u) => new Set(u.categories).size > 1).map((u) => u.record));
  return {
    annotators: names,
    records: records.length,
    pairs: units.length,
    pendingPairs,
    kappaKind: anns.length === 2 ? 'cohen' : 'fleiss',
    ...k,
    pairwise,
    disagreements: records.filter((id) => differ.has(id)),
    units,
  };
}

/**
 * The records to adjudicate: the first annotation's record, its relations on the pairs in
 * dispute replaced by every annotator's settled ones (each `source: "human"`, named in
 * `meta.annotator`; one relation per label and direction, naming all who gave it), so the record
 * view shows them side by side.
 */
export function adjudicationRecords(
  anns: Annotation[],
  report: Pick<AgreementReport, 'disagreements' | 'units'>,
): RelRecord[] {
  const { units } = report;
  const maps = anns.map((a) => new Map(a.records.map((r) => [r.id, r])));
  const out: RelRecord[] = [];
  for (const id of report.disagreements) {
    const disputed = new Set(
      units
        .filter((u) => u.record === id && new Set(u.categories).size > 1)
        .map((u) => pairKey(u.a, u.b)),
    );
    const base = maps[0]!.get(id)!;
    const kept = base.relations.filter((x) => !disputed.has(pairKey(x.head, x.tail)));
    const given = new Map<string, { rel: Relation; who: string[] }>();
    anns.forEach((a, i) => {
      for (const x of maps[i]!.get(id)!.relations) {
        if (!disputed.has(pairKey(x.head, x.tail)) || trusted(x) === undefined) continue;
        const key = `${x.head}\u0000${x.tail}\u0000${x.label}`;
        const g = given.get(key);
        if (g) g.who.push(a.name);
        else given.set(key, { rel: x, who: [a.name] });
      }
    });
    const disputedRels: Relation[] = [...given.values()].map(({ rel, who }) => ({
      head: rel.head,
      tail: rel.tail,
      label: rel.label,
      source: 'human',
      meta: { annotator: who.join(', ') },
    }));
    out.push({
      ...base,
      relations: [...kept, ...disputedRels],
      meta: {
        ...(base.meta ?? {}),
        agreement: Object.fromEntries(
          units
            .filter((u) => u.record === id && disputed.has(pairKey(u.a, u.b)))
            .map((u) => [
              `${u.a} ${u.b}`,
              Object.fromEntries(anns.map((a, i) => [a.name, u.categories[i] || '(none)'])),
            ]),
        ),
      },
    });
  }
  return out;
}
