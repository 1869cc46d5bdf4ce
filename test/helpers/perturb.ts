/**
 * Deterministic "system outputs" for scorer cross-checks: a seeded PRNG perturbs gold labels
 * (kept, direction flipped, relation changed, set to the no-relation label, or skipped).
 */
import { mulberry32 } from '../../src/core/util/random';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';

export { mulberry32 };

const REL9 = SEMEVAL_RELATIONS.labels.map((l) => l.name);

/** Perturbs SemEval 19-way answers (id → label). Iterates ids in numeric order. */
export function perturbSemEval(
  gold: Map<string, string>,
  seed: number,
  skipRate = 0.05,
): Map<string, string> {
  const rnd = mulberry32(seed);
  const out = new Map<string, string>();
  const ids = [...gold.keys()].sort((a, b) => Number(a) - Number(b));
  for (const id of ids) {
    const g = gold.get(id)!;
    const x = rnd();
    const y = rnd();
    if (x < skipRate) continue;
    const m = /^(.*)\((e[12]),(e[12])\)$/.exec(g);
    if (x < 0.7) out.set(id, g);
    else if (x < 0.8 && m) out.set(id, `${m[1]}(${m[3]},${m[2]})`);
    else if (x < 0.9) {
      const r = REL9[Math.floor(y * REL9.length)]!;
      out.set(id, `${r}(${y < 0.5 ? 'e1,e2' : 'e2,e1'})`);
    } else out.set(id, 'Other');
  }
  return out;
}

export interface SubmissionRow {
  title: string;
  h_idx: number;
  t_idx: number;
  r: string;
  evidence?: number[];
}

/**
 * Perturbs DocRED gold facts into a submission: drops some, duplicates some, adds wrong
 * relations/pairs, changes evidence, and adds predictions for a title that is not in the gold.
 */
export function perturbDocRed(
  docs: Array<{
    title: string;
    n: number;
    facts: Array<{ h: number; t: number; r: string; evidence: number[] }>;
  }>,
  relations: string[],
  seed: number,
): SubmissionRow[] {
  const rnd = mulberry32(seed);
  const out: SubmissionRow[] = [];
  for (const d of docs) {
    for (const f of d.facts) {
      const x = rnd();
      if (x < 0.25) continue;
      const ev = rnd() < 0.5 ? f.evidence : f.evidence.slice(0, 1);
      out.push({ title: d.title, h_idx: f.h, t_idx: f.t, r: f.r, evidence: ev });
      if (x > 0.95) out.push({ title: d.title, h_idx: f.h, t_idx: f.t, r: f.r });
      if (x > 0.8)
        out.push({
          title: d.title,
          h_idx: f.h,
          t_idx: f.t,
          r: relations[Math.floor(rnd() * relations.length)]!,
        });
    }
    const extra = Math.floor(rnd() * 6);
    for (let i = 0; i < extra && d.n > 1; i++) {
      const h = Math.floor(rnd() * d.n);
      const t = (h + 1 + Math.floor(rnd() * (d.n - 1))) % d.n;
      out.push({
        title: d.title,
        h_idx: h,
        t_idx: t,
        r: relations[Math.floor(rnd() * relations.length)]!,
        evidence: [0],
      });
    }
  }
  out.push({ title: '__not_a_title__', h_idx: 0, t_idx: 1, r: relations[0]! });
  return out;
}
