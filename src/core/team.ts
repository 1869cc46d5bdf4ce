/**
 * Curation as a team (issue 29): split a file among annotators with an overlap every one of them
 * annotates (what `relation-lens agreement` compares), and merge their files back into one —
 * each curated relation naming its annotator, the shared records they agree on taken once, those
 * they do not written for adjudication (every annotator's relations side by side), or taken from
 * an adjudicated file.
 */
import { Annotation, adjudicationRecords, agreementUnits } from './eval/agreement';
import { RelRecord, isIgnoredRecord } from './schema';
import { mulberry32, shuffled } from './util/random';

export interface SplitPlan {
  /** Per annotator, the indices of the records they get, in file order. */
  parts: number[][];
  /** Indices every annotator gets (the overlap), in file order. */
  shared: number[];
}

/**
 * Deals `n` records among `annotators`: a seeded sample of round(n × overlap) to all of them, the
 * rest one each in turn after a seeded shuffle (so each part is a fair sample of the file).
 */
export function splitPlan(n: number, annotators: number, overlap: number, seed = 0): SplitPlan {
  if (annotators < 2) throw new Error('a split needs two or more annotators');
  if (!(overlap >= 0 && overlap <= 1)) throw new Error(`overlap ${overlap} is not in [0, 1]`);
  const order = shuffled(
    Array.from({ length: n }, (_, i) => i),
    mulberry32(seed),
  );
  const k = Math.round(n * overlap);
  const shared = order.slice(0, k);
  const parts: number[][] = Array.from({ length: annotators }, () => [...shared]);
  order.slice(k).forEach((i, j) => parts[j % annotators]!.push(i));
  const byIndex = (a: number, b: number) => a - b;
  return { parts: parts.map((p) => p.sort(byIndex)), shared: shared.sort(byIndex) };
}

/**
 * The record with its curator named where it does not say: each human relation without
 * `meta.annotator`, and a record set aside without `meta.ignoredBy`, get `name`.
 */
export function withAnnotator(r: RelRecord, name: string): RelRecord {
  let changed = false;
  const relations = r.relations.map((x) => {
    if (x.source !== 'human' || typeof x.meta?.['annotator'] === 'string') return x;
    changed = true;
    return { ...x, meta: { ...(x.meta ?? {}), annotator: name } };
  });
  let meta = r.meta;
  if (isIgnoredRecord(r) && typeof r.meta?.['ignoredBy'] !== 'string') {
    meta = { ...(r.meta ?? {}), ignoredBy: name };
    changed = true;
  }
  return changed ? { ...r, relations, ...(meta ? { meta } : {}) } : r;
}

export interface MergeResult {
  records: RelRecord[];
  /** Records one annotator had. */
  single: number;
  /** Records several had and agreed on (taken once, the first one's). */
  agreed: number;
  /** Records taken from the adjudicated file. */
  adjudicated: number;
  /** Ids of records several had and disagreed on (written for adjudication). */
  disputed: string[];
}

/**
 * One file from the annotators' files: records in `order` (ids; the file that was split), then
 * any others in the order the files give them. A record in `adjudicated` is taken from there.
 */
export function mergeAnnotations(
  anns: Annotation[],
  noRelation: string | null,
  opts: { adjudicated?: RelRecord[]; order?: string[] } = {},
): MergeResult {
  const named = anns.map((a) => ({
    name: a.name,
    byId: new Map(a.records.map((r) => [r.id, withAnnotator(r, a.name)])),
  }));
  const adjudicated = new Map((opts.adjudicated ?? []).map((r) => [r.id, r]));
  const ids = new Set<string>(opts.order ?? []);
  for (const a of anns) for (const r of a.records) ids.add(r.id);
  const out: MergeResult = { records: [], single: 0, agreed: 0, adjudicated: 0, disputed: [] };
  for (const id of ids) {
    const have = named.filter((a) => a.byId.has(id));
    if (!have.length) continue;
    const settled = adjudicated.get(id);
    if (settled) {
      out.records.push(settled);
      out.adjudicated++;
      continue;
    }
    if (have.length === 1) {
      out.records.push(have[0]!.byId.get(id)!);
      out.single++;
      continue;
    }
    const one: Annotation[] = have.map((a) => ({ name: a.name, records: [a.byId.get(id)!] }));
    const { units } = agreementUnits(one, noRelation);
    if (units.every((u) => new Set(u.categories).size === 1)) {
      out.records.push(one[0]!.records[0]!);
      out.agreed++;
    } else {
      out.records.push(...adjudicationRecords(one, { disagreements: [id], units }));
      out.disputed.push(id);
    }
  }
  return out;
}
