/**
 * Document-level relation extraction (LMRC, seed 003):
 *  1. candidate space: every ordered entity pair of the document (or the record's `pairs`);
 *  2. relation candidate proposal: keep the pairs a filter finds likely — the trained pair
 *     filter (pairFilter.ts), no filter, or an LLM yes/no question per pair (the seed's ablation);
 *  3. relation classification: k pairs per prompt, answered as `(head| relation| tail)` lines
 *     under a grammar built from the prompt's pairs and the relation set;
 *  4. alignment of the generated strings to entity ids and labels (align.ts), with every drop
 *     counted by reason;
 *  5. documents longer than the context: the prompt's text is cut down to the sentences that
 *     hold the pairs' mentions (a window), and the relation says so in `meta.window`.
 * One file per job: candidates.ts (step 2), docPlan.ts (prompts, windows, grammar), align.ts
 * (step 4), docReport.ts (the counts); this file runs them in order.
 */
import {
  ChatPrompt,
  ClassifierEngine,
  ContextOverflowError,
  Generation,
  PromptSession,
  throwIfAborted,
} from '../ports';
import { PromptTemplate, chatPrompt } from '../prompts/template';
import { NONE_ANSWER, docPromptView } from '../prompts/views';
import { Entity, RelRecord, Relation, RelationSet, candidatePairs } from '../schema';
import { mapLimit } from '../util/mapLimit';
import { BatchOutput, RelationAligner, alignBatchOutput, entityIndex } from './align';
import { PairFilterSpec, proposeCandidates } from './candidates';
import { LineTokens, walkAnswer } from './docDecode';
import { DocumentEncoder } from './docEncoder';
import { DocBatch, answerGrammar, answerSchema, jsonAnswerLines, planBatches } from './docPlan';
import { DocReport, bump, emptyDocReport } from './docReport';
import { goldPairs, pairKey } from './pairFilter';

/** The most candidate pairs of one document sent to the model unless told otherwise. */
export const DEFAULT_MAX_PAIRS = 10_000;

export interface DocumentOptions {
  relationSet: RelationSet;
  template: PromptTemplate;
  /** The answer None is allowed (the `lmrc` template). */
  none: boolean;
  /** Pairs per prompt. */
  k: number;
  filter: PairFilterSpec;
  aligner: RelationAligner;
  /** fuzzball WRatio threshold (0–100) for entity names; 0: exact and normalized only. */
  entityFuzzy?: number;
  /** Constrain generation with the grammar (default); off for engines that cannot. */
  constrain?: boolean;
  /**
   * How answers are constrained and read: `lines` under the GBNF grammar, or `json` under a JSON
   * schema (`answerSchema`) for engines that take only schemas. Default: the engine's `constraint`.
   */
  answerFormat?: 'lines' | 'json';
  /** Lines a pair may get (several relations per pair; default 2); bounds the grammar and the answer. */
  maxRelationsPerPair?: number;
  /**
   * How a lines answer is decoded: `walk` asks the model only where the allowed lines branch
   * (docDecode.ts; the default on engines with incremental scoring, without evidence), `grammar`
   * generates it token by token under the GBNF grammar.
   */
  decoding?: 'walk' | 'grammar';
  /**
   * With a document encoder: each pair's answer is limited to the encoder's `relationHints`
   * likeliest relations (and None when allowed) — the LLM chooses among the encoder's proposals.
   * Needs the decoding walk. Default 0: every relation of the set.
   */
  relationHints?: number;
  /** Number the sentences in the prompt and ask for evidence sentence numbers after each relation. */
  evidence?: boolean;
  /**
   * The most candidate pairs of one document sent to the model (after the filter; default
   * DEFAULT_MAX_PAIRS, 0: no limit). A document above it is written unchanged with an error that
   * says how many pairs it has and what to do — thousands of entities would otherwise mean
   * millions of pairs, hours of prompts and gigabytes of memory without a word.
   */
  maxPairs?: number;
  /**
   * `encoder`: the relations are the document encoder's own predictions (the baseline the LLM
   * stage must beat; no LLM runs). Default `llm`.
   */
  mode?: 'llm' | 'encoder';
  /** The document encoder: plain text gets its entities from it, and `mode: 'encoder'` its relations. */
  encoder?: DocumentEncoder;
  model: string;
  signal?: AbortSignal;
}

/** Token sizes of a document's answers: what a prompt's answer may take, for the context budget. */
async function answerSizer(
  engine: ClassifierEngine,
  byId: Map<string, Entity>,
  pairs: Array<[string, string]>,
  answers: string[],
  opts: { maxPer: number; numbered: boolean },
): Promise<(ps: Array<[string, string]>) => number> {
  const longestRel = Math.max(
    ...(await Promise.all(answers.map((a) => engine.tokenizeLabel(a)))).map((t) => t.length),
  );
  // Token counts of each entity's parts of an answer line, asked once per entity.
  const headTokens = new Map<string, number>();
  const tailTokens = new Map<string, number>();
  for (const id of new Set(pairs.flat())) {
    const name = byId.get(id)!.name;
    headTokens.set(id, (await engine.tokenizeLabel(`(${name}| `)).length);
    tailTokens.set(id, (await engine.tokenizeLabel(`| ${name})\n`)).length);
  }
  const lineTokens = (p: [string, string]) =>
    headTokens.get(p[0])! + longestRel + tailTokens.get(p[1])! + 2 + (opts.numbered ? 16 : 0);
  // Room for every pair's lines; the grammar ends the answer after the last pair. Constrained
  // generation may spell a name in more tokens than its canonical tokenization, hence the slack.
  return (ps) => Math.ceil(1.5 * opts.maxPer * ps.reduce((a, p) => a + lineTokens(p), 0)) + 16;
}

/** How one document's prompts are built: the prompt of a batch, its answer budget and grammar. */
interface DocPrompts {
  /** The document's entities by id (built once per document). */
  entities: Map<string, Entity>;
  /** The answers a line may give (the relation names, None when allowed). */
  answers: string[];
  /** The answers of each pair of a batch (the encoder's hints), when they differ by pair. */
  pairAnswers?(b: DocBatch): string[][];
  maxPer: number;
  /** The names of a batch's pairs. */
  names(b: DocBatch): Array<[string, string]>;
  /** The prompt numbers its sentences and asks for evidence. */
  numbered: boolean;
  promptFor(b: DocBatch): ChatPrompt;
  budget(pairs: Array<[string, string]>): number;
  grammar(b: DocBatch): string;
  schema(b: DocBatch): Record<string, unknown>;
}

/** Each pair's `relationHints` likeliest relations by the document encoder (pairs it cannot read: none listed). */
async function encoderHints(
  record: RelRecord,
  pairs: Array<[string, string]>,
  opts: DocumentOptions,
): Promise<Map<string, string[]> | undefined> {
  const m = opts.relationHints ?? 0;
  if (m <= 0) return undefined;
  if (!opts.encoder) throw new Error('relation hints need a document encoder (an encoder filter)');
  const names = opts.encoder.config.relations;
  const inSet = new Set(opts.relationSet.labels.map((l) => l.name));
  const logits = await opts.encoder.pairLogits(record, pairs);
  const out = new Map<string, string[]>();
  logits.forEach((l, j) => {
    if (!l) return;
    const ranked = names
      .map((name, r) => [name, l[r + 1]!] as const)
      .filter(([name]) => inSet.has(name))
      .sort((a, b) => b[1] - a[1]);
    out.set(
      pairKey(...pairs[j]!),
      ranked.slice(0, m).map(([name]) => name),
    );
  });
  return out;
}

async function docPrompts(
  engine: ClassifierEngine,
  record: RelRecord,
  keptPairs: Array<[string, string]>,
  opts: DocumentOptions,
  numbered: boolean,
): Promise<DocPrompts> {
  const byId = new Map(record.entities.map((e) => [e.id, e]));
  const relNames = opts.relationSet.labels.map((l) => l.name);
  const answers = opts.none ? [...relNames, NONE_ANSWER] : relNames;
  const maxPer = Math.max(1, opts.maxRelationsPerPair ?? 2);
  const allSentences = (record.sentences ?? []).map((_, i) => i);
  const budget = await answerSizer(engine, byId, keptPairs, answers, { maxPer, numbered });
  const hints = await encoderHints(record, keptPairs, opts);
  const entities = (ps: Array<[string, string]>): Array<[Entity, Entity]> =>
    ps.map(([h, t]) => [byId.get(h)!, byId.get(t)!]);
  return {
    entities: byId,
    answers,
    maxPer,
    numbered,
    ...(hints
      ? {
          pairAnswers: (b: DocBatch) =>
            b.pairs.map(([h, t]) => {
              const rels = hints.get(pairKey(h, t));
              return rels ? (opts.none ? [...rels, NONE_ANSWER] : rels) : answers;
            }),
        }
      : {}),
    names: (b) => entities(b.pairs).map(([h, t]) => [h.name, t.name]),
    promptFor: (b) =>
      chatPrompt(
        opts.template,
        docPromptView(record, opts.relationSet, opts, entities(b.pairs), b.text),
      ),
    budget,
    grammar: (b) =>
      answerGrammar(
        entities(b.pairs).map(([h, t]) => [h.name, t.name]),
        answers,
        maxPer,
        numbered ? (b.window ?? allSentences) : undefined,
      ),
    schema: (b) =>
      answerSchema(
        entities(b.pairs).map(([h, t]) => [h.name, t.name]),
        answers,
        maxPer,
        numbered ? (b.window ?? allSentences) : undefined,
      ),
  };
}

/** Runs every batch's prompt (in parallel sequences); a prompt too long for the context is reported, not fatal. */
async function generateBatches(
  engine: ClassifierEngine,
  batches: DocBatch[],
  prompts: DocPrompts,
  opts: DocumentOptions,
  report: DocReport,
): Promise<BatchOutput[]> {
  const numbered = prompts.numbered;
  const json =
    (opts.answerFormat ?? (engine.info.constraint === 'json-schema' ? 'json' : 'lines')) === 'json';
  const walk =
    !json &&
    !numbered &&
    opts.constrain !== false &&
    (opts.decoding ?? (engine.info.incrementalScoring ? 'walk' : 'grammar')) === 'walk';
  if (prompts.pairAnswers && !walk)
    throw new Error('relation hints need the decoding walk (--decoding walk, without evidence)');
  if (walk && !engine.info.incrementalScoring && engine.info.scoring === 'first-token')
    throw new Error(
      'decoding walk needs an engine that scores whole answers (this one reads first tokens only): use decoding grammar',
    );
  const lines = new LineTokens(engine);
  const generate = async (s: PromptSession, b: DocBatch, budget: number): Promise<Generation> => {
    if (opts.constrain === false)
      return { text: await s.generateFree(budget), tokens: 0, truncated: false };
    if (walk) {
      const w = await walkAnswer(s, lines, {
        pairs: prompts.names(b),
        answers: prompts.pairAnswers?.(b) ?? prompts.answers,
        maxPerPair: prompts.maxPer,
        maxTokens: budget,
      });
      report.scoredSteps += w.evaluations;
      return w;
    }
    if (!json) return s.generateWithGrammar({ gbnf: prompts.grammar(b) }, budget);
    // JSON spends several times the tokens of the lines on the same relations (keys, quotes, and
    // the indentation some engines' JSON grammars insist on).
    const g = await s.generateWithGrammar({ jsonSchema: prompts.schema(b) }, 4 * budget + 64);
    return { ...g, text: jsonAnswerLines(g.text) };
  };
  const outputs = await mapLimit(batches, engine.info.parallel, async (b, bi) => {
    const budget = prompts.budget(b.pairs);
    try {
      return await engine.withPrompt(
        prompts.promptFor(b),
        async (s) => {
          const gen = await generate(s, b, budget);
          report.prompts++;
          report.promptTokens += s.promptTokens;
          report.reusedTokens += s.reusedTokens;
          return { index: bi, batch: b, generation: gen };
        },
        opts.signal,
        budget,
      );
    } catch (err) {
      if (!(err instanceof ContextOverflowError)) throw err;
      report.errors.push(`prompt ${bi}: ${err.message}`);
      bump(report.dropped, 'prompt-overflow', b.pairs.length);
      return null;
    }
  });
  return outputs.filter((o): o is BatchOutput => o !== null);
}

/** The record with the run's relations: gold and other pairs' non-gold relations stay, the asked pairs get the new ones. */
function withRelations(
  record: RelRecord,
  keptPairs: Array<[string, string]>,
  predicted: Iterable<Relation>,
  report: DocReport,
  model: string,
): RelRecord {
  const touched = new Set(keptPairs.map(([h, t]) => pairKey(h, t)));
  const relations = [
    ...record.relations.filter((x) => x.source !== 'gold' && !touched.has(pairKey(x.head, x.tail))),
    ...predicted,
  ];
  const extraction = {
    model,
    method: 'lmrc',
    filter: report.filter,
    pairs: report.pairsIn,
    kept: report.pairsKept,
    prompts: report.prompts,
    ...(report.windows
      ? {
          windows: report.windows,
          note: 'long document: some prompts saw only the sentences holding their pairs (meta.window)',
        }
      : {}),
    ...(report.errors.length ? { errors: report.errors } : {}),
  };
  return { ...record, relations, meta: { ...(record.meta ?? {}), extraction } };
}

/** The encoder's own relations on every candidate pair (mode `encoder`: no LLM, no filter). */
export async function extractDocumentWithEncoder(
  encoder: DocumentEncoder,
  record: RelRecord,
  opts: Pick<DocumentOptions, 'relationSet' | 'signal'>,
): Promise<{ record: RelRecord; report: DocReport }> {
  throwIfAborted(opts.signal);
  const report = emptyDocReport(record.id);
  report.entities = record.entities.length;
  report.filter = 'encoder (relations)';
  const pairs = candidatePairs(record);
  report.pairsIn = pairs.length;
  report.pairsKept = pairs.length;
  const gold = goldPairs(record, opts.relationSet);
  report.goldPairs = gold.size;
  report.goldPairsKept = gold.size;
  const predicted = await encoder.predictRelations(record, pairs);
  report.relations = predicted.length;
  report.triples = predicted.length;
  return {
    record: withRelations(record, pairs, predicted, report, `encoder:${encoder.source}`),
    report,
  };
}

/** Extracts the relations of one document. The record's own non-gold relations on other pairs stay. */
export async function extractDocument(
  engine: ClassifierEngine,
  record: RelRecord,
  opts: DocumentOptions,
): Promise<{ record: RelRecord; report: DocReport }> {
  throwIfAborted(opts.signal);
  const report = emptyDocReport(record.id);
  report.entities = record.entities.length;
  const maxPairs = opts.maxPairs ?? DEFAULT_MAX_PAIRS;
  const n = record.entities.length;
  const allPairs = record.pairs?.length ?? n * (n - 1);
  const tooMany = (count: number, after: string) => {
    report.errors.push(
      `${count} candidate pair(s)${after} (${n} entities), more than the limit of ${maxPairs}: not sent to the model (about ${Math.ceil(count / Math.max(1, opts.k))} prompts). Use a pair filter (--filter FILE from train-filter), split the document, or raise --max-pairs (0: no limit)`,
    );
    bump(report.dropped, 'too-many-pairs', count);
    return { record: withRelations(record, [], [], report, opts.model), report };
  };
  report.pairsIn = allPairs;
  report.filter = opts.filter.kind;
  // Without a filter every pair goes on: refused before the pairs are even listed.
  if (maxPairs && opts.filter.kind === 'none' && allPairs > maxPairs) return tooMany(allPairs, '');
  const pairs = candidatePairs(record);
  const gold = goldPairs(record, opts.relationSet);
  report.goldPairs = gold.size;
  const kept = await proposeCandidates(engine, record, pairs, opts, report);
  report.pairsKept = kept.size;
  for (const g of gold) if (kept.has(g)) report.goldPairsKept++;
  if (maxPairs && kept.size > maxPairs)
    return tooMany(kept.size, ` after the filter (${opts.filter.kind})`);
  const keptPairs = pairs.filter(([h, t]) => kept.has(pairKey(h, t)));

  // Evidence is numbered sentences: only when the record has sentence spans.
  const numbered = !!opts.evidence && !!record.sentences?.length;
  const prompts = await docPrompts(engine, record, keptPairs, opts, numbered);
  const fits = async (b: DocBatch) =>
    (await engine.countPromptTokens(prompts.promptFor(b))) + prompts.budget(b.pairs) <=
    engine.info.contextSize;
  const { batches, unfit } = await planBatches(
    record,
    keptPairs,
    Math.max(1, opts.k),
    fits,
    numbered,
  );
  const nameOf = (id: string) => prompts.entities.get(id)?.name;
  for (const p of unfit)
    report.errors.push(
      `pair (${nameOf(p[0])}, ${nameOf(p[1])}): its sentences do not fit the context of ${engine.info.contextSize} tokens`,
    );
  if (unfit.length) bump(report.dropped, 'pair-too-long', unfit.length);
  report.windows = batches.filter((b) => b.window).length;

  const outputs = await generateBatches(engine, batches, prompts, opts, report);
  const docIndex = entityIndex(
    record.entities.map((e) => ({
      id: e.id,
      name: e.name,
      aliases: e.mentions.map((m) => m.name ?? record.text.slice(m.start, m.end)),
    })),
    opts.entityFuzzy ?? 88,
  );
  const predicted = new Map<string, Relation>();
  const shown = numbered ? (record.sentences ?? []).map((_, i) => i) : undefined;
  for (const o of outputs)
    await alignBatchOutput(o, {
      record,
      entities: prompts.entities,
      docIndex,
      aligner: opts.aligner,
      scores: kept,
      model: opts.model,
      allSentences: shown,
      report,
      predicted,
    });
  report.relations = predicted.size;
  return {
    record: withRelations(record, keptPairs, predicted.values(), report, opts.model),
    report,
  };
}
