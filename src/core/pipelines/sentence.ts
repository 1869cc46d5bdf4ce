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
import { ChatPrompt, ClassifierEngine, ContextOverflowError, EngineInfo, OutOfSetAnswer, throwIfAborted } from '../ports';
import { NO_RELATION_DESCRIPTION, promptView } from '../formats/sft';
import { PromptTemplate, PromptView, renderTemplate } from '../prompts/template';
import { Entity, RelRecord, Relation, RelationSet } from '../schema';
import { LabelScore, LabelTrie, scoreFirstTokens, scoreLabels } from './labelSearch';
import { knnVote } from '../retrieval/retriever';

/** score / generate use the LLM; knn is the nearest-neighbour vote baseline (no LLM). */
export type DecodeMode = 'score' | 'generate' | 'knn';
export type DirectionMode = 'label' | 'pair';

export interface RetrievedExample {
  id: string;
  sentence: string;
  head: string;
  tail: string;
  label: string;
  score: number;
}

/** A retriever gives demonstrations for a pair (RAG4RE). */
export interface ExampleRetriever {
  retrieve(record: RelRecord, head: Entity, tail: Entity, k: number): Promise<RetrievedExample[]>;
}

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

/** Single-character answer codes: A–Z, then a–z (one token in common tokenizers). */
export const ANSWER_CODES = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'];

/** The coded view of an answer space: code ↔ answer, and the prompt's relation list. */
export function answerCodes(space: AnswerSpace): { codes: string[]; codeOf: Map<string, string>; answerOf: Map<string, string>; relations: AnswerSpace['relations'] } {
  if (space.answers.length > ANSWER_CODES.length) throw new Error(`answer codes support up to ${ANSWER_CODES.length} answers, the set has ${space.answers.length}`);
  const codes = space.answers.map((_, i) => ANSWER_CODES[i]!);
  const codeOf = new Map(space.answers.map((a, i) => [a, codes[i]!]));
  const answerOf = new Map(space.answers.map((a, i) => [codes[i]!, a]));
  const relations = space.relations.map((r, i) => ({ name: codes[i]!, description: r.description ? `${r.name} (${r.description.replace(/\.$/, '')})` : r.name }));
  return { codes, codeOf, answerOf, relations };
}

/** SemEval-style sets answer with directed labels; the others take the pair order as head → tail. */
export function defaultDirection(rs: RelationSet): DirectionMode {
  return /semeval/i.test(rs.name) ? 'label' : 'pair';
}

export interface AnswerSpace {
  answers: string[];
  /** Answer → (label, reversed); null for the no-relation answer. */
  decode(answer: string): { label: string; reversed: boolean } | null;
  /** (label, reversed) → answer; null label → the no-relation answer (or undefined when the set has none). */
  encode(label: string | null, reversed: boolean): string | undefined;
  /** Descriptions for the prompt's relation list, by answer. */
  relations: Array<{ name: string; description: string }>;
}

const ROLE_PAIR = /^([^\s()-]+)-([^\s()-]+)$/;

/**
 * The answers the model may give, from the relation set and the direction mode. With
 * `direction: "label"`, a directed label `X-Y` whose roles can be swapped (SemEval's
 * `Cause-Effect`) is answered `X-Y` for head→tail and `Y-X` for the reverse ("the head is the
 * effect, the tail the cause") — three times fewer tokens than `Cause-Effect(e2,e1)`; other
 * directed labels get `(e1,e2)` / `(e2,e1)` suffixes. Both map back to the label and direction
 * exactly.
 */
export function answerSpace(rs: RelationSet, direction: DirectionMode): AnswerSpace {
  const answers: string[] = [];
  const relations: AnswerSpace['relations'] = [];
  const map = new Map<string, { label: string; reversed: boolean } | null>();
  const names = new Set(rs.labels.map((l) => l.name));
  if (rs.noRelation) names.add(rs.noRelation);
  const directedLabels = rs.labels.filter((l) => l.directed ?? rs.directed);
  const swapped = (n: string) => n.replace(ROLE_PAIR, '$2-$1');
  const canSwap =
    directedLabels.length > 0 &&
    directedLabels.every((l) => ROLE_PAIR.test(l.name) && swapped(l.name) !== l.name && !names.has(swapped(l.name))) &&
    new Set(directedLabels.map((l) => swapped(l.name))).size === directedLabels.length;
  const add = (answer: string, description: string, value: { label: string; reversed: boolean } | null) => {
    if (map.has(answer)) throw new Error(`relation set ${rs.name}: answer ${JSON.stringify(answer)} is ambiguous`);
    answers.push(answer);
    relations.push({ name: answer, description });
    map.set(answer, value);
  };
  for (const l of rs.labels) {
    const directed = l.directed ?? rs.directed;
    const description = l.description ?? '';
    if (direction === 'label' && directed) {
      if (canSwap) {
        add(l.name, description, { label: l.name, reversed: false });
        add(swapped(l.name), `the reverse of ${l.name}${description ? ` (${description.replace(/\.$/, '')}, with head and tail swapped)` : ''}`, { label: l.name, reversed: true });
      } else {
        add(`${l.name}(e1,e2)`, description, { label: l.name, reversed: false });
        add(`${l.name}(e2,e1)`, description ? `${description} (tail → head)` : 'tail → head', { label: l.name, reversed: true });
      }
    } else add(l.name, description, { label: l.name, reversed: false });
  }
  if (rs.noRelation) add(rs.noRelation, NO_RELATION_DESCRIPTION, null);
  const inverse = new Map<string, string>();
  for (const [a, v] of map) inverse.set(v ? `${v.label}\u0000${v.reversed}` : '\u0000null', a);
  return {
    answers,
    relations,
    encode: (label, reversed) => {
      if (label === null) return inverse.get('\u0000null');
      return inverse.get(`${label}\u0000${reversed}`) ?? inverse.get(`${label}\u0000false`);
    },
    decode: (a) => {
      if (!map.has(a)) throw new Error(`answer ${JSON.stringify(a)} is not in the answer space`);
      return map.get(a)!;
    },
  };
}

/** The chat prompt of one pair: system, then instruction (shared prefix), then the example. */
export function buildPrompt(template: PromptTemplate, view: PromptView): ChatPrompt {
  const r = renderTemplate(template, view);
  const p: ChatPrompt = { user: `${r.instruction}\n\n${r.input}` };
  if (r.system !== undefined) p.system = r.system;
  return p;
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

function viewFor(record: RelRecord, head: Entity, tail: Entity, rs: RelationSet, space: AnswerSpace, examples: RetrievedExample[], coded?: ReturnType<typeof answerCodes>): PromptView {
  const v = promptView(record, head, tail, '', rs);
  v.relations = coded ? coded.relations : space.relations;
  v.relation_names = coded ? coded.relations.map((r) => `${r.name}: ${r.description}`).join('; ') : space.answers.join(', ');
  v.examples = examples.map((e) => ({ sentence: e.sentence, head: e.head, tail: e.tail, label: coded?.codeOf.get(e.label) ?? e.label }));
  return v;
}

/**
 * The prompt of one pair exactly as classification sends it (answer space for the direction,
 * answer codes, retrieved examples) — also what the editor shows as "the prompt".
 */
export function pairPrompt(record: RelRecord, head: Entity, tail: Entity, opts: { relationSet: RelationSet; template: PromptTemplate; direction?: DirectionMode; answerCodes?: boolean; examples?: RetrievedExample[] }): ChatPrompt {
  const space = answerSpace(opts.relationSet, opts.direction ?? defaultDirection(opts.relationSet));
  return buildPrompt(opts.template, viewFor(record, head, tail, opts.relationSet, space, opts.examples ?? [], opts.answerCodes ? answerCodes(space) : undefined));
}

/** Classifies one pair of a record. Overflow and other per-example problems come back as `error`. */
export async function classifyPair(engine: ClassifierEngine | undefined, record: RelRecord, pair: [string, string], space: AnswerSpace, opts: SentenceOptions, labelTokens: number[][]): Promise<PairPrediction> {
  throwIfAborted(opts.signal);
  const head = record.entities.find((e) => e.id === pair[0]);
  const tail = record.entities.find((e) => e.id === pair[1]);
  const base = { recordId: record.id, pair, promptTokens: 0, reusedTokens: 0 };
  if (!head || !tail) return { ...base, answer: '', confidence: null, error: `pair ${pair.join(',')}: unknown entity` };
  const examples = opts.retriever ? await opts.retriever.retrieve(record, head, tail, opts.k ?? 5) : [];
  const coded = opts.answerCodes && opts.mode !== 'knn' ? answerCodes(space) : undefined;
  const prompt = buildPrompt(opts.template, viewFor(record, head, tail, opts.relationSet, space, examples, coded));
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
        const common = () => ({ ...base, promptTokens: s.promptTokens, reusedTokens: s.reusedTokens, neighbours });
        if (opts.mode === 'generate') {
          const answer = await s.generateConstrained(coded ? coded.codes : space.answers);
          return { ...common(), answer: coded?.answerOf.get(answer) ?? answer, confidence: null };
        }
        if (coded) {
          const trie = new LabelTrie(coded.codes, labelTokens);
          const r = await scoreFirstTokens(trie, (path, cands) => s.continuation(path, cands));
          const distribution = r.scores.map((x) => ({ ...x, label: coded.answerOf.get(x.label)! })).sort((a, b) => b.probability - a.probability);
          return { ...common(), answer: coded.answerOf.get(r.best.label)!, confidence: r.best.probability, distribution };
        }
        const trie = new LabelTrie(space.answers, labelTokens);
        const r = await scoreLabels(trie, engine.endTokens, (path, cands) => s.continuation(path, cands), Math.log(opts.scoreMargin ?? 1e4));
        const distribution = [...r.scores].sort((a, b) => b.probability - a.probability);
        return { ...common(), answer: r.best.label, confidence: r.best.probability, distribution };
      },
      opts.signal,
    );
  } catch (err) {
    if (err instanceof ContextOverflowError) return { ...base, answer: '', confidence: null, error: `record ${record.id}: ${err.message}` };
    if (err instanceof OutOfSetAnswer) return { ...base, answer: '', confidence: null, error: `record ${record.id}, pair ${pair.join(',')}: ${err.message}` };
    throw err;
  }
}

/**
 * The decoding an engine can do for a requested mode: an engine that scores only the first
 * answer token (a serving engine's top_logprobs) scores answer codes when there are no more of
 * them than it lists, and otherwise generates under the constraint — with a note saying so.
 */
export function effectiveMode(info: EngineInfo, mode: DecodeMode, answerCodes: boolean, answers: number): { mode: DecodeMode; note?: string } {
  if (mode !== 'score' || (info.scoring ?? 'full') === 'full') return { mode };
  if (!answerCodes) return { mode: 'generate', note: `${info.backend} scores only the first answer token: relation names are scored as one-token answer codes (--answers codes) or generated under the constraint; generating (--mode generate)` };
  const cap = info.topLogprobs ?? Infinity;
  if (answers > cap) return { mode: 'generate', note: `${info.backend} lists at most ${cap} top_logprobs, fewer than the ${answers} answers: generating under the constraint instead of scoring` };
  return { mode };
}

/** Replaces a record's relations on the classified pairs with the predictions. */
export function applyPredictions(record: RelRecord, preds: PairPrediction[], space: AnswerSpace, opts: { model: string; keepTop?: number }): RelRecord {
  const touched = new Set(preds.filter((p) => !p.error).map((p) => `${p.pair[0]}\u0000${p.pair[1]}`));
  const keep = (x: Relation) => !touched.has(`${x.head}\u0000${x.tail}`) && !touched.has(`${x.tail}\u0000${x.head}`);
  const relations: Relation[] = record.relations.filter((x) => x.source !== 'gold' && keep(x));
  for (const p of preds) {
    if (p.error) continue;
    const d = space.decode(p.answer);
    if (!d) continue;
    const [a, b] = p.pair;
    const rel: Relation = { head: d.reversed ? b : a, tail: d.reversed ? a : b, label: d.label, source: 'model' };
    if (p.confidence !== null) rel.score = p.confidence;
    const meta: Record<string, unknown> = { model: opts.model, answer: p.answer };
    if (p.distribution && opts.keepTop) meta['top'] = p.distribution.slice(0, opts.keepTop).map((x) => [x.label, Number(x.probability.toFixed(6))]);
    if (p.neighbours) meta['neighbours'] = p.neighbours;
    rel.meta = meta;
    relations.push(rel);
  }
  const out: RelRecord = { ...record, relations };
  const errors = preds.filter((p) => p.error).map((p) => p.error!);
  const none = preds.filter((p) => !p.error && space.decode(p.answer) === null);
  const noneFor = none.map((p) => p.pair);
  // Provenance of the no-relation answers too (a relation carries its own in meta.neighbours).
  const retrieved = none.filter((p) => p.neighbours).map((p) => ({ pair: p.pair, neighbours: p.neighbours }));
  out.meta = { ...(record.meta ?? {}), extraction: { model: opts.model, pairs: preds.length, ...(noneFor.length ? { noRelation: noneFor } : {}), ...(retrieved.length ? { retrieved } : {}), ...(errors.length ? { errors } : {}) } };
  return out;
}
