/**
 * Sentence-level relation classification (CRE-LLM, RAG4RE): one prompt per entity pair, the
 * answer constrained to the relation set.
 *
 * Prompts put the instruction and the relation list first — byte-identical for every example —
 * and the example after it, so the engine evaluates that prefix once per sequence and reuses its
 * KV cache. Two decodings, both guaranteeing an answer from the set:
 *  - "score": the log-probability of every label (multi-token labels summed token by token),
 *    giving a distribution and a confidence;
 *  - "generate": greedy generation under a grammar that only admits the labels.
 *
 * Direction: with `direction: "label"` (SemEval) the answers are `Label(e1,e2)` / `Label(e2,e1)`
 * relative to the pair order, and map back exactly; with `direction: "pair"` (FinRE, SanWen,
 * TACRED) the pair order is head → tail and the answer is the bare label.
 */
import {
  ChatPrompt,
  PromptSession,
  TokenId,
  ClassifierEngine,
  ContextOverflowError,
  EngineInfo,
  ExampleRetriever,
  OutOfSetAnswer,
  RetrievedExample,
  throwIfAborted,
} from '../ports';
import { promptView } from '../prompts/views';
import { PromptTemplate, PromptView, chatPrompt } from '../prompts/template';
import { Entity, RelRecord, Relation, RelationSet } from '../schema';
import {
  AnswerSpace,
  DirectionMode,
  answerCodes,
  answerSpace,
  defaultDirection,
} from './answerSpace';
import { LabelScore, LabelTrie, scoreFirstTokens, scoreLabels } from './labelSearch';
import { knnVote } from '../retrieval/retriever';

/** score / generate use the LLM; knn is the nearest-neighbour vote baseline (no LLM). */
export type DecodeMode = 'score' | 'generate' | 'knn';

export interface SentenceOptions {
  relationSet: RelationSet;
  template: PromptTemplate;
  mode: DecodeMode;
  direction: DirectionMode;
  retriever?: ExampleRetriever;
  k?: number;
  signal?: AbortSignal;
  /** Keep the top-N of the label distribution in each relation's meta (score mode). */
  keepTop?: number;
  /**
   * Score mode: labels whose probability is within this factor of the best are scored exactly;
   * the others keep an upper bound. Default 1e4; 1 scores only what the argmax needs.
   */
  scoreMargin?: number;
  /**
   * Answer with codes (A, B, C, …: one token each) listed with the relation names, instead of
   * the names: score mode then reads one next-token distribution per example.
   */
  answerCodes?: boolean;
}

export interface PairPrediction {
  recordId: string;
  pair: [string, string];
  answer: string;
  /** Probability of the answer, renormalised over the answer set (score mode). */
  confidence: number | null;
  distribution?: LabelScore[];
  neighbours?: string[];
  promptTokens: number;
  reusedTokens: number;
  error?: string;
}

/** The answers a prompt lists: the space of the set and direction, coded or by name. */
interface PromptAnswers {
  rs: RelationSet;
  space: AnswerSpace;
  coded?: ReturnType<typeof answerCodes>;
}

function viewFor(
  record: RelRecord,
  pair: { head: Entity; tail: Entity },
  answers: PromptAnswers,
  examples: RetrievedExample[],
): PromptView {
  const { space, coded } = answers;
  const v = promptView(record, pair.head, pair.tail, '', answers.rs);
  v.relations = coded ? coded.relations : space.relations;
  v.relation_names = coded
    ? coded.relations.map((r) => `${r.name}: ${r.description}`).join('; ')
    : space.answers.join(', ');
  v.examples = examples.map((e) => ({
    sentence: e.sentence,
    head: e.head,
    tail: e.tail,
    label: coded?.codeOf.get(e.label) ?? e.label,
  }));
  return v;
}

/**
 * The prompt of one pair exactly as classification sends it (answer space for the direction,
 * answer codes, retrieved examples) — also what the editor shows as "the prompt".
 */
export function pairPrompt(
  record: RelRecord,
  head: Entity,
  tail: Entity,
  opts: {
    relationSet: RelationSet;
    template: PromptTemplate;
    direction?: DirectionMode;
    answerCodes?: boolean;
    examples?: RetrievedExample[];
  },
): ChatPrompt {
  const space = answerSpace(opts.relationSet, opts.direction ?? defaultDirection(opts.relationSet));
  return chatPrompt(
    opts.template,
    viewFor(
      record,
      { head, tail },
      { rs: opts.relationSet, space, coded: opts.answerCodes ? answerCodes(space) : undefined },
      opts.examples ?? [],
    ),
  );
}

/** The answer of one prompt: generated under the constraint, or the best of the scored labels. */
async function decide(
  s: PromptSession,
  endTokens: TokenId[],
  a: { space: AnswerSpace; labelTokens: number[][]; coded?: ReturnType<typeof answerCodes> },
  opts: SentenceOptions,
): Promise<{ answer: string; confidence: number | null; distribution?: LabelScore[] }> {
  const { space, labelTokens, coded } = a;
  const byProbability = (x: LabelScore, y: LabelScore) => y.probability - x.probability;
  if (opts.mode === 'generate') {
    const answer = await s.generateConstrained(coded ? coded.codes : space.answers);
    return { answer: coded?.answerOf.get(answer) ?? answer, confidence: null };
  }
  if (coded) {
    const trie = new LabelTrie(coded.codes, labelTokens);
    const r = await scoreFirstTokens(trie, (path, cands) => s.continuation(path, cands));
    const distribution = r.scores
      .map((x) => ({ ...x, label: coded.answerOf.get(x.label)! }))
      .sort(byProbability);
    return {
      answer: coded.answerOf.get(r.best.label)!,
      confidence: r.best.probability,
      distribution,
    };
  }
  const trie = new LabelTrie(space.answers, labelTokens);
  const margin = Math.log(opts.scoreMargin ?? 1e4);
  const r = await scoreLabels(
    trie,
    endTokens,
    (path, cands) => s.continuation(path, cands),
    margin,
  );
  return {
    answer: r.best.label,
    confidence: r.best.probability,
    distribution: [...r.scores].sort(byProbability),
  };
}

/** Classifies one pair of a record. Overflow and other per-example problems come back as `error`. */
export async function classifyPair(
  engine: ClassifierEngine | undefined,
  record: RelRecord,
  pair: [string, string],
  answers: { space: AnswerSpace; labelTokens: number[][] },
  opts: SentenceOptions,
): Promise<PairPrediction> {
  const { space, labelTokens } = answers;
  throwIfAborted(opts.signal);
  const head = record.entities.find((e) => e.id === pair[0]);
  const tail = record.entities.find((e) => e.id === pair[1]);
  const base = { recordId: record.id, pair, promptTokens: 0, reusedTokens: 0 };
  if (!head || !tail)
    return {
      ...base,
      answer: '',
      confidence: null,
      error: `pair ${pair.join(',')}: unknown entity`,
    };
  const examples = opts.retriever
    ? await opts.retriever.retrieve(record, head, tail, opts.k ?? 5)
    : [];
  const coded = opts.answerCodes && opts.mode !== 'knn' ? answerCodes(space) : undefined;
  const prompt = chatPrompt(
    opts.template,
    viewFor(record, { head, tail }, { rs: opts.relationSet, space, coded }, examples),
  );
  const neighbours = opts.retriever ? examples.map((e) => e.id) : undefined;
  if (opts.mode === 'knn') {
    if (!opts.retriever) throw new Error('the knn mode needs a retrieval index');
    const valid = examples.filter((e) => space.answers.includes(e.label));
    const vote = knnVote(valid, space.encode(null, false) ?? space.answers[0]!);
    return { ...base, answer: vote.answer, confidence: vote.confidence, neighbours };
  }
  if (!engine) throw new Error(`the ${opts.mode} mode needs a model`);
  try {
    return await engine.withPrompt(
      prompt,
      async (s) => {
        // Token counts are read after the calls: a serving engine learns its cache reuse from them.
        const common = () => ({
          ...base,
          promptTokens: s.promptTokens,
          reusedTokens: s.reusedTokens,
          neighbours,
        });
        return {
          ...common(),
          ...(await decide(s, engine.endTokens, { space, labelTokens, coded }, opts)),
        };
      },
      opts.signal,
    );
  } catch (err) {
    if (err instanceof ContextOverflowError)
      return {
        ...base,
        answer: '',
        confidence: null,
        error: `record ${record.id}: ${err.message}`,
      };
    if (err instanceof OutOfSetAnswer)
      return {
        ...base,
        answer: '',
        confidence: null,
        error: `record ${record.id}, pair ${pair.join(',')}: ${err.message}`,
      };
    throw err;
  }
}

/**
 * The decoding an engine can do for a requested mode: an engine that scores only the first
 * answer token (a serving engine's top_logprobs) scores answer codes when there are no more of
 * them than it lists, and otherwise generates under the constraint — with a note saying so.
 */
export function effectiveMode(
  info: EngineInfo,
  mode: DecodeMode,
  answerCodes: boolean,
  answers: number,
): { mode: DecodeMode; note?: string } {
  if (mode !== 'score' || (info.scoring ?? 'full') === 'full') return { mode };
  if (!answerCodes)
    return {
      mode: 'generate',
      note: `${info.backend} scores only the first answer token: relation names are scored as one-token answer codes (--answers codes) or generated under the constraint; generating (--mode generate)`,
    };
  const cap = info.topLogprobs ?? Infinity;
  if (answers > cap)
    return {
      mode: 'generate',
      note: `${info.backend} lists at most ${cap} top_logprobs, fewer than the ${answers} answers: generating under the constraint instead of scoring`,
    };
  return { mode };
}

/** Replaces a record's relations on the classified pairs with the predictions. */
export function applyPredictions(
  record: RelRecord,
  preds: PairPrediction[],
  space: AnswerSpace,
  opts: { model: string; keepTop?: number },
): RelRecord {
  const touched = new Set(
    preds.filter((p) => !p.error).map((p) => `${p.pair[0]}\u0000${p.pair[1]}`),
  );
  const keep = (x: Relation) =>
    !touched.has(`${x.head}\u0000${x.tail}`) && !touched.has(`${x.tail}\u0000${x.head}`);
  const relations: Relation[] = record.relations.filter((x) => x.source !== 'gold' && keep(x));
  for (const p of preds) {
    if (p.error) continue;
    const d = space.decode(p.answer);
    if (!d) continue;
    const [a, b] = p.pair;
    const rel: Relation = {
      head: d.reversed ? b : a,
      tail: d.reversed ? a : b,
      label: d.label,
      source: 'model',
    };
    if (p.confidence !== null) rel.score = p.confidence;
    const meta: Record<string, unknown> = { model: opts.model, answer: p.answer };
    if (p.distribution && opts.keepTop)
      meta['top'] = p.distribution
        .slice(0, opts.keepTop)
        .map((x) => [x.label, Number(x.probability.toFixed(6))]);
    if (p.neighbours) meta['neighbours'] = p.neighbours;
    rel.meta = meta;
    relations.push(rel);
  }
  const out: RelRecord = { ...record, relations };
  const errors = preds.filter((p) => p.error).map((p) => p.error!);
  const none = preds.filter((p) => !p.error && space.decode(p.answer) === null);
  const noneFor = none.map((p) => p.pair);
  // Provenance of the no-relation answers too (a relation carries its own in meta.neighbours).
  const retrieved = none
    .filter((p) => p.neighbours)
    .map((p) => ({ pair: p.pair, neighbours: p.neighbours }));
  out.meta = {
    ...(record.meta ?? {}),
    extraction: {
      model: opts.model,
      pairs: preds.length,
      ...(noneFor.length ? { noRelation: noneFor } : {}),
      ...(retrieved.length ? { retrieved } : {}),
      ...(errors.length ? { errors } : {}),
    },
  };
  return out;
}
