/**
 * The candidate stage of a document run (LMRC step 2): which entity pairs go to the LLM — all
 * of them, those the trained pair filter scores above its threshold, or those an LLM yes/no
 * question finds likely (the seed's ablation) — with their filter scores.
 */
import { ChatPrompt, ClassifierEngine, ContextOverflowError } from '../ports';
import { RelRecord } from '../schema';
import { mapLimit } from '../util/mapLimit';
import { DocReport, bump } from './docReport';
import { LabelTrie, scoreLabels } from './labelSearch';
import { DocumentEncoder } from './docEncoder';
import { PairFilterModel, pairKey, scorePairs } from './pairFilter';

export type PairFilterSpec =
  | { kind: 'none' }
  | { kind: 'model'; model: PairFilterModel; threshold?: number }
  | { kind: 'encoder'; encoder: DocumentEncoder; threshold?: number }
  | { kind: 'llm'; threshold?: number };

/** The keep threshold of a filter spec (null: it keeps everything). */
export function filterThreshold(f: PairFilterSpec): number | null {
  if (f.kind === 'none') return null;
  if (f.kind === 'model') return f.threshold ?? f.model.threshold;
  if (f.kind === 'encoder') return f.threshold ?? f.encoder.manifest?.threshold ?? 0.5;
  return f.threshold ?? 0.5;
}

/** The candidate stage: which pairs go to the LLM, with their filter scores. */
export async function proposeCandidates(
  engine: ClassifierEngine,
  record: RelRecord,
  pairs: Array<[string, string]>,
  opts: { filter: PairFilterSpec; signal?: AbortSignal },
  report: DocReport,
): Promise<Map<string, number | null>> {
  const kept = new Map<string, number | null>();
  const f = opts.filter;
  report.filter = f.kind;
  if (f.kind === 'none') {
    for (const [h, t] of pairs) kept.set(pairKey(h, t), null);
    return kept;
  }
  if (f.kind === 'encoder') {
    const th = filterThreshold(f)!;
    report.threshold = th;
    (await f.encoder.scorePairs(record, pairs)).forEach((s, i) => {
      if (s >= th) kept.set(pairKey(...pairs[i]!), s);
    });
    return kept;
  }
  if (f.kind === 'model') {
    const th = filterThreshold(f)!;
    report.threshold = th;
    scorePairs(f.model, record, pairs).forEach((s, i) => {
      if (s >= th) kept.set(pairKey(...pairs[i]!), s);
    });
    return kept;
  }
  // LLM yes/no per pair; the document text is the shared prefix of all its questions.
  const th = f.threshold ?? 0.5;
  report.threshold = th;
  const answers = ['yes', 'no'];
  const trie = new LabelTrie(
    answers,
    await Promise.all(answers.map((a) => engine.tokenizeLabel(a))),
  );
  const byId = new Map(record.entities.map((e) => [e.id, e]));
  await mapLimit(pairs, engine.info.parallel, async ([h, t]) => {
    const he = byId.get(h)!;
    const te = byId.get(t)!;
    const prompt: ChatPrompt = {
      user: `Decide whether the text states a relation from the head entity to the tail entity.\n\nText: ${record.text}\n\nHead entity: ${he.name}\nTail entity: ${te.name}\nIs there a relation? Answer yes or no.`,
    };
    try {
      await engine.withPrompt(
        prompt,
        async (s) => {
          const r = await scoreLabels(
            trie,
            engine.endTokens,
            (path, cands) => s.continuation(path, cands),
            Math.log(1e4),
          );
          report.filterPromptTokens += s.promptTokens - s.reusedTokens;
          const yes = r.scores.find((x) => x.label === 'yes')?.probability ?? 0;
          if (yes >= th) kept.set(pairKey(h, t), yes);
        },
        opts.signal,
      );
    } catch (err) {
      if (!(err instanceof ContextOverflowError)) throw err;
      // Too long for a yes/no question: keep the pair (the classifier stage windows it).
      kept.set(pairKey(h, t), null);
      bump(report.dropped, 'filter-overflow-kept');
    }
  });
  return kept;
}
