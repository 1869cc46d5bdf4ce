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
 */
import { ChatPrompt, ClassifierEngine, ContextOverflowError, Generation, throwIfAborted } from '../ports';
import { PromptTemplate, renderSections } from '../prompts/template';
import { Entity, RelRecord, Relation, RelationSet, candidatePairs, mentionSentence } from '../schema';
import { EntityMatch, RelationAligner, RelationMatch, entityIndex, parseTriples } from './align';
import { LabelTrie, scoreLabels } from './labelSearch';
import { PairFilterModel, goldPairs, pairKey, scorePairs } from './pairFilter';
import { gbnfLiteral as gbnfString } from '../util/gbnf';
import { mapLimit } from '../util/mapLimit';

export interface DocPromptView {
  id: string;
  title: string;
  text: string;
  relations: Array<{ name: string; description: string }>;
  relation_names: string;
  no_relation: string;
  pair_count: number;
  pairs: Array<{ head: string; tail: string }>;
  pair_lines: string;
  /** Gold answer lines (training data). */
  answer_lines: string;
}

const LMRC_HEADER = 'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.';
const DOC_INPUT = ['### Text:', '{{text}}', '', '### {{pair_count}} Entity pairs:', '{{pair_lines}}', '', '### Response:'].join('\n');

/** An Appendix A prompt of seed 003: the shared header, the task, the formats, the relation set. */
function lmrcTemplate(name: string, task: string, outputFormat: string): PromptTemplate {
  return {
    name,
    instruction: [LMRC_HEADER, '', '### Instruction:', task, "The format of the input entity pair is '(head entity| -| tail entity)'.", `Your output format is '${outputFormat}'.`, '', '### Relation set:', '{{relation_names}}'].join('\n'),
    input: DOC_INPUT,
    output: '{{answer_lines}}',
  };
}

/** Seed 003, Appendix A, "Prompt for Document-level Relation Extraction" (answers may be None). */
export const LMRC_TEMPLATE = lmrcTemplate(
  'lmrc',
  'Your task is to determine whether there are relations between the entity pairs based on the information in the text. If there exists relations, select relations for the entity pairs from the relation set; if there is no relation, return None.',
  '(head entity| relation/None| tail entity)',
);

/** Seed 003, Appendix A, "Prompt for Relation Classification" (no None: the pairs were filtered). */
export const LMRC_RC_TEMPLATE = lmrcTemplate(
  'lmrc-rc',
  'This is a relation classification task. we will provide entity pairs that require relation classification. Your task is to select relations for each entity pair from the given relation set based on the information in the text. There may be multiple relations between an entity pair.',
  '(head entity| relation| tail entity)',
);

/**
 * `lmrc` asking also for evidence: the text comes with sentence numbers ("[0] …") and each
 * relation line ends with the numbers of the sentences that support it. Not in the seed, which
 * does not predict evidence.
 */
export const LMRC_EVIDENCE_TEMPLATE = lmrcTemplate(
  'lmrc-evidence',
  'Your task is to determine whether there are relations between the entity pairs based on the information in the text. If there exists relations, select relations for the entity pairs from the relation set and give the numbers of the sentences of the text that support each relation; if there is no relation, return None.',
  '(head entity| relation| tail entity| sentence numbers) or (head entity| None| tail entity)',
);

/** Built-in document templates: whether their answers may be None, whether they ask for evidence. */
export const DOC_TEMPLATES: Record<string, { template: PromptTemplate; none: boolean; evidence: boolean }> = {
  lmrc: { template: LMRC_TEMPLATE, none: true, evidence: false },
  'lmrc-rc': { template: LMRC_RC_TEMPLATE, none: false, evidence: false },
  'lmrc-evidence': { template: LMRC_EVIDENCE_TEMPLATE, none: true, evidence: true },
};

export const NONE_ANSWER = 'None';

export type PairFilterSpec = { kind: 'none' } | { kind: 'model'; model: PairFilterModel; threshold?: number } | { kind: 'llm'; threshold?: number };

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
  /** Lines a pair may get (several relations per pair; default 2); bounds the grammar and the answer. */
  maxRelationsPerPair?: number;
  /** Number the sentences in the prompt and ask for evidence sentence numbers after each relation. */
  evidence?: boolean;
  model: string;
  signal?: AbortSignal;
}

export interface DocReport {
  id: string;
  entities: number;
  pairsIn: number;
  pairsKept: number;
  /** Gold pairs (pairs with a gold relation) and how many of them survived the candidate stage. */
  goldPairs: number;
  goldPairsKept: number;
  filter: string;
  threshold: number | null;
  prompts: number;
  promptTokens: number;
  /** Prompt tokens found in the KV cache (not evaluated again). */
  reusedTokens: number;
  generatedTokens: number;
  /** Prompt tokens of the LLM yes/no filter (filter: llm). */
  filterPromptTokens: number;
  windows: number;
  outputLines: number;
  malformedLines: number;
  truncatedOutputs: number;
  triples: number;
  noneAnswers: number;
  relations: number;
  /** Triples that repeat a relation already predicted for the document (kept once). */
  duplicates: number;
  /** Triples about a document pair the prompt did not ask for (kept: the pair exists). */
  outsidePrompt: number;
  /** Evidence sentence numbers given (in relations kept) and those ignored: not a sentence of the prompt. */
  evidenceGiven: number;
  evidenceIgnored: number;
  aligned: { entity: Record<string, number>; relation: Record<string, number> };
  dropped: Record<string, number>;
  /** The first few drops, for a person to read. */
  dropExamples: Array<{ prompt: number; line: number; text: string; reason: string }>;
  errors: string[];
}

export function emptyDocReport(id: string): DocReport {
  return {
    id,
    entities: 0,
    pairsIn: 0,
    pairsKept: 0,
    goldPairs: 0,
    goldPairsKept: 0,
    filter: 'none',
    threshold: null,
    prompts: 0,
    promptTokens: 0,
    reusedTokens: 0,
    generatedTokens: 0,
    filterPromptTokens: 0,
    windows: 0,
    outputLines: 0,
    malformedLines: 0,
    truncatedOutputs: 0,
    triples: 0,
    noneAnswers: 0,
    relations: 0,
    duplicates: 0,
    outsidePrompt: 0,
    evidenceGiven: 0,
    evidenceIgnored: 0,
    aligned: { entity: {}, relation: {} },
    dropped: {},
    dropExamples: [],
    errors: [],
  };
}

type NumericKey = { [K in keyof DocReport]-?: DocReport[K] extends number ? K : never }[keyof DocReport];
const NUMERIC_KEYS = (Object.keys(emptyDocReport('')) as Array<keyof DocReport>).filter((k): k is NumericKey => typeof emptyDocReport('')[k] === 'number');

const bump = (m: Record<string, number>, k: string, n = 1) => (m[k] = (m[k] ?? 0) + n);

/** Sums per-document reports (numbers add up; maps merge; examples and errors are capped). */
export function sumReports(reports: DocReport[]): Omit<DocReport, 'id'> & { documents: number; goldPairRecall: number | null; keptFraction: number } {
  const t = emptyDocReport('');
  for (const r of reports) {
    for (const k of NUMERIC_KEYS) t[k] += r[k];
    for (const [k, v] of Object.entries(r.aligned.entity)) bump(t.aligned.entity, k, v);
    for (const [k, v] of Object.entries(r.aligned.relation)) bump(t.aligned.relation, k, v);
    for (const [k, v] of Object.entries(r.dropped)) bump(t.dropped, k, v);
    if (t.dropExamples.length < 20) t.dropExamples.push(...r.dropExamples.slice(0, 20 - t.dropExamples.length));
    if (t.errors.length < 50) t.errors.push(...r.errors.slice(0, 50 - t.errors.length));
    t.filter = r.filter;
    t.threshold = r.threshold;
  }
  const { id: _unused, ...rest } = t;
  return { ...rest, documents: reports.length, goldPairRecall: t.goldPairs ? t.goldPairsKept / t.goldPairs : null, keptFraction: t.pairsIn ? t.pairsKept / t.pairsIn : 0 };
}

/** Sentences that hold a mention of any of the entities (sorted). */
function sentencesOf(record: RelRecord, entities: Entity[]): number[] {
  const s = new Set<number>();
  for (const e of entities) for (const m of e.mentions) s.add(mentionSentence(record, m));
  return [...s].sort((a, b) => a - b);
}

/**
 * The text of some sentences, with "…" where sentences were left out; `numbered`: each sentence
 * after its number in the document ("[3] …"), the numbers evidence refers to.
 */
export function windowText(record: RelRecord, sentences: number[], numbered = false): string {
  const spans = record.sentences ?? [{ start: 0, end: record.text.length }];
  let out = '';
  let prev = -1;
  for (const i of sentences) {
    const sp = spans[i];
    if (!sp) continue;
    if (out) out += i === prev + 1 ? ' ' : ' … ';
    else if (i > 0) out += '… ';
    if (numbered) out += `[${i}] `;
    out += record.text.slice(sp.start, sp.end);
    prev = i;
  }
  if (prev >= 0 && prev < spans.length - 1) out += ' …';
  return out;
}

export interface DocBatch {
  pairs: Array<[string, string]>;
  text: string;
  /** Sentence indices of the window, when the text is not the whole document. */
  window?: number[];
}

/** The prompt view of one batch: the set's relations (and None when allowed), the text, the pairs. */
export function docPromptView(record: RelRecord, rs: RelationSet, opts: Pick<DocumentOptions, 'none'>, pairs: Array<[Entity, Entity]>, text: string): DocPromptView {
  const names = rs.labels.map((l) => l.name);
  return {
    id: record.id,
    title: typeof record.meta?.['title'] === 'string' ? (record.meta['title'] as string) : record.id,
    text,
    relations: rs.labels.map((l) => ({ name: l.name, description: l.description ?? '' })),
    relation_names: (opts.none ? [...names, NONE_ANSWER] : names).join(', '),
    no_relation: opts.none ? NONE_ANSWER : '',
    pair_count: pairs.length,
    pairs: pairs.map(([h, t]) => ({ head: h.name, tail: t.name })),
    pair_lines: pairs.map(([h, t]) => `(${h.name}| -| ${t.name})`).join('\n'),
    answer_lines: '',
  };
}

export function docPrompt(template: PromptTemplate, v: DocPromptView): ChatPrompt {
  const r = renderSections(template, v);
  const p: ChatPrompt = { user: `${r.instruction}\n\n${r.input}` };
  if (r.system !== undefined) p.system = r.system;
  return p;
}

/**
 * The answer grammar of one prompt: for each of the prompt's pairs, in order, one to
 * `maxPerPair` lines `(head| relation| tail)` with a relation from the set (or None). Every
 * pair gets an answer and generation ends after the last one. With `evidence` (the sentence
 * numbers the prompt shows), a relation line ends with one to five of them:
 * `(head| relation| tail| 0, 3)`; a None line has none.
 */
export function answerGrammar(pairs: Array<[string, string]>, relations: string[], maxPerPair: number, evidence?: number[]): string {
  const withEvidence = !!evidence?.length;
  const rels = withEvidence ? relations.filter((r) => r !== NONE_ANSWER) : relations;
  const rules = [`root ::= ${pairs.map((_, i) => `p${i}`).join(' ')}`, `rel ::= ${rels.map(gbnfString).join(' | ')}`];
  if (withEvidence) rules.push(`sid ::= ${[...new Set(evidence)].sort((a, b) => b - a).map((n) => gbnfString(String(n))).join(' | ')}`, 'ev ::= "| " sid (", " sid){0,4}');
  const noneLine = withEvidence && relations.includes(NONE_ANSWER);
  pairs.forEach(([h, t], i) => {
    rules.push(`p${i} ::= l${i}${maxPerPair > 1 ? `{1,${maxPerPair}}` : ''}`);
    if (!withEvidence) rules.push(`l${i} ::= ${gbnfString(`(${h}| `)} rel ${gbnfString(`| ${t})\n`)}`);
    else rules.push(`l${i} ::= ${gbnfString(`(${h}| `)} (rel ${gbnfString(`| ${t}`)} ev ${gbnfString(')\n')}${noneLine ? ` | ${gbnfString(`${NONE_ANSWER}| ${t})\n`)}` : ''})`);
  });
  return rules.join('\n');
}

/** Splits kept pairs into prompts of k pairs, windowed or split further when a prompt does not fit. */
export async function planBatches(record: RelRecord, pairs: Array<[string, string]>, k: number, fits: (b: DocBatch) => boolean | Promise<boolean>, numbered = false): Promise<{ batches: DocBatch[]; unfit: Array<[string, string]> }> {
  const all = (record.sentences ?? []).map((_, i) => i);
  const text = (sents: number[]) => windowText(record, sents, numbered);
  const byId = new Map(record.entities.map((e) => [e.id, e]));
  const batches: DocBatch[] = [];
  const unfit: Array<[string, string]> = [];
  const place = async (ps: Array<[string, string]>): Promise<void> => {
    const whole: DocBatch = { pairs: ps, text: numbered && all.length ? text(all) : record.text };
    if (await fits(whole)) return void batches.push(whole);
    const ents = [...new Set(ps.flat())].map((id) => byId.get(id)!).filter(Boolean);
    const sents = sentencesOf(record, ents);
    const windowed: DocBatch = { pairs: ps, text: text(sents), window: sents };
    if (record.sentences?.length && (await fits(windowed))) return void batches.push(windowed);
    if (ps.length > 1) {
      const mid = Math.ceil(ps.length / 2);
      await place(ps.slice(0, mid));
      await place(ps.slice(mid));
      return;
    }
    // One pair that still does not fit: the closest pair of sentences holding its two entities.
    const [h, t] = ps[0]!.map((id) => byId.get(id)!);
    if (h && t && record.sentences?.length) {
      let best: [number, number] | undefined;
      for (const a of sentencesOf(record, [h])) for (const b of sentencesOf(record, [t])) if (!best || Math.abs(a - b) < Math.abs(best[0] - best[1])) best = [a, b];
      if (best) {
        const s = [...new Set(best)].sort((x, y) => x - y);
        const tight: DocBatch = { pairs: ps, text: text(s), window: s };
        if (await fits(tight)) return void batches.push(tight);
      }
    }
    unfit.push(ps[0]!);
  };
  for (let i = 0; i < pairs.length; i += k) await place(pairs.slice(i, i + k));
  return { batches, unfit };
}

/** The candidate stage: which pairs go to the LLM, with their filter scores. */
async function proposeCandidates(engine: ClassifierEngine, record: RelRecord, pairs: Array<[string, string]>, opts: DocumentOptions, report: DocReport): Promise<Map<string, number | null>> {
  const kept = new Map<string, number | null>();
  const f = opts.filter;
  report.filter = f.kind;
  if (f.kind === 'none') {
    for (const [h, t] of pairs) kept.set(pairKey(h, t), null);
    return kept;
  }
  if (f.kind === 'model') {
    const th = f.threshold ?? f.model.threshold;
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
  const trie = new LabelTrie(answers, await Promise.all(answers.map((a) => engine.tokenizeLabel(a))));
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
            const r = await scoreLabels(trie, engine.endTokens, (path, cands) => s.continuation(path, cands), Math.log(1e4));
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

/** Extracts the relations of one document. The record's own non-gold relations on other pairs stay. */
export async function extractDocument(engine: ClassifierEngine, record: RelRecord, opts: DocumentOptions): Promise<{ record: RelRecord; report: DocReport }> {
  throwIfAborted(opts.signal);
  const report = emptyDocReport(record.id);
  report.entities = record.entities.length;
  const pairs = candidatePairs(record);
  report.pairsIn = pairs.length;
  const gold = goldPairs(record, opts.relationSet);
  report.goldPairs = gold.size;
  const kept = await proposeCandidates(engine, record, pairs, opts, report);
  report.pairsKept = kept.size;
  for (const g of gold) if (kept.has(g)) report.goldPairsKept++;
  const keptPairs = pairs.filter(([h, t]) => kept.has(pairKey(h, t)));

  const byId = new Map(record.entities.map((e) => [e.id, e]));
  const relNames = opts.relationSet.labels.map((l) => l.name);
  const answers = opts.none ? [...relNames, NONE_ANSWER] : relNames;
  const maxPer = Math.max(1, opts.maxRelationsPerPair ?? 2);
  const longestRel = Math.max(...(await Promise.all(answers.map((a) => engine.tokenizeLabel(a)))).map((t) => t.length));
  // Evidence is numbered sentences: only when the record has sentence spans.
  const numbered = !!opts.evidence && !!record.sentences?.length;
  const allSentences = (record.sentences ?? []).map((_, i) => i);
  // Token counts of each entity's parts of an answer line, asked once per entity.
  const headTokens = new Map<string, number>();
  const tailTokens = new Map<string, number>();
  for (const id of new Set(keptPairs.flat())) {
    const name = byId.get(id)!.name;
    headTokens.set(id, (await engine.tokenizeLabel(`(${name}| `)).length);
    tailTokens.set(id, (await engine.tokenizeLabel(`| ${name})\n`)).length);
  }
  const lineTokens = (p: [string, string]) => headTokens.get(p[0])! + longestRel + tailTokens.get(p[1])! + 2 + (numbered ? 16 : 0);
  // Room for every pair's lines; the grammar ends the answer after the last pair. Constrained
  // generation may spell a name in more tokens than its canonical tokenization, hence the slack.
  const answerBudget = (ps: Array<[string, string]>) => Math.ceil(1.5 * maxPer * ps.reduce((a, p) => a + lineTokens(p), 0)) + 16;
  const promptFor = (b: DocBatch) =>
    docPrompt(
      opts.template,
      docPromptView(record, opts.relationSet, opts, b.pairs.map(([h, t]) => [byId.get(h)!, byId.get(t)!]), b.text),
    );
  const fits = async (b: DocBatch) => (await engine.countPromptTokens(promptFor(b))) + answerBudget(b.pairs) <= engine.info.contextSize;
  const { batches, unfit } = await planBatches(record, keptPairs, Math.max(1, opts.k), fits, numbered);
  for (const p of unfit) report.errors.push(`pair (${byId.get(p[0])?.name}, ${byId.get(p[1])?.name}): its sentences do not fit the context of ${engine.info.contextSize} tokens`);
  if (unfit.length) bump(report.dropped, 'pair-too-long', unfit.length);
  report.windows = batches.filter((b) => b.window).length;

  const docIndex = entityIndex(
    record.entities.map((e) => ({ id: e.id, name: e.name, aliases: e.mentions.map((m) => m.name ?? record.text.slice(m.start, m.end)) })),
    opts.entityFuzzy ?? 88,
  );
  const predicted = new Map<string, Relation>();
  const outputs = await mapLimit(batches, engine.info.parallel, async (b, bi) => {
      const prompt = promptFor(b);
      const budget = answerBudget(b.pairs);
      const grammar = answerGrammar(
        b.pairs.map(([h, t]) => [byId.get(h)!.name, byId.get(t)!.name]),
        answers,
        maxPer,
        numbered ? (b.window ?? allSentences) : undefined,
      );
      try {
        return await engine.withPrompt(
          prompt,
          async (s) => {
            const gen: Generation = opts.constrain === false ? { text: await s.generateFree(budget), tokens: 0, truncated: false } : await s.generateWithGrammar({ gbnf: grammar }, budget);
            report.prompts++;
            report.promptTokens += s.promptTokens;
            report.reusedTokens += s.reusedTokens;
            return { bi, gen };
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
  for (const o of outputs) {
    if (!o) continue;
    const b = batches[o.bi]!;
    report.generatedTokens += o.gen.tokens;
    if (o.gen.truncated) report.truncatedOutputs++;
    const batchIndex = entityIndex(
      [...new Set(b.pairs.flat())].map((id) => ({ id, name: byId.get(id)!.name })),
      0,
    );
    const { triples, bad } = parseTriples(o.gen.text);
    report.outputLines += triples.length + bad.length;
    report.malformedLines += bad.length;
    for (const x of bad) {
      bump(report.dropped, 'malformed-line');
      if (report.dropExamples.length < 5) report.dropExamples.push({ prompt: o.bi, line: x.line, text: x.text, reason: 'malformed-line' });
    }
    report.triples += triples.length;
    const drop = (line: number, text: string, reason: string) => {
      bump(report.dropped, reason);
      if (report.dropExamples.length < 5) report.dropExamples.push({ prompt: o.bi, line, text, reason });
    };
    for (const tr of triples) {
      const text = `(${tr.head}| ${tr.relation}| ${tr.tail})`;
      const rel: RelationMatch = await opts.aligner.align(tr.relation);
      if (rel.label === null) {
        if (rel.none) {
          report.noneAnswers++;
          continue;
        }
        drop(tr.line, text, `relation-${rel.reason}`);
        continue;
      }
      const local = (n: string): EntityMatch => {
        const m = batchIndex.match(n);
        return m.id !== null ? m : docIndex.match(n);
      };
      const h = local(tr.head);
      const t = local(tr.tail);
      if (h.id === null) {
        drop(tr.line, text, `head-${h.reason}`);
        continue;
      }
      if (t.id === null) {
        drop(tr.line, text, `tail-${t.reason}`);
        continue;
      }
      if (h.id === t.id) {
        drop(tr.line, text, 'same-entity');
        continue;
      }
      bump(report.aligned.entity, h.how);
      bump(report.aligned.entity, t.how);
      bump(report.aligned.relation, rel.how);
      const inBatch = b.pairs.some(([a, c]) => a === h.id && c === t.id);
      if (!inBatch) report.outsidePrompt++;
      const key = `${h.id}\u0000${t.id}\u0000${rel.label}`;
      if (predicted.has(key)) {
        report.duplicates++;
        continue;
      }
      const score = kept.get(pairKey(h.id, t.id));
      const r: Relation = { head: h.id, tail: t.id, label: rel.label, source: 'model' };
      if (typeof score === 'number') r.score = Number(score.toFixed(6));
      const meta: Record<string, unknown> = { model: opts.model, prompt: o.bi, line: tr.line };
      if (h.how !== 'exact' || t.how !== 'exact' || rel.how !== 'exact') meta['aligned'] = { head: h.how, tail: t.how, relation: rel.how, generated: text };
      if (b.window) meta['window'] = b.window;
      if (tr.evidence && numbered) {
        // Only sentences the prompt showed count as evidence.
        const shown = new Set(b.window ?? allSentences);
        const ok = tr.evidence.filter((x) => shown.has(x));
        report.evidenceGiven += ok.length;
        report.evidenceIgnored += tr.evidence.length - ok.length;
        if (ok.length) r.evidence = ok;
      }
      r.meta = meta;
      predicted.set(key, r);
    }
  }
  report.relations = predicted.size;
  const touched = new Set(keptPairs.map(([h, t]) => pairKey(h, t)));
  const relations = [...record.relations.filter((x) => x.source !== 'gold' && !touched.has(pairKey(x.head, x.tail))), ...predicted.values()];
  const out: RelRecord = {
    ...record,
    relations,
    meta: {
      ...(record.meta ?? {}),
      extraction: {
        model: opts.model,
        method: 'lmrc',
        filter: report.filter,
        pairs: report.pairsIn,
        kept: report.pairsKept,
        prompts: report.prompts,
        ...(report.windows ? { windows: report.windows, note: 'long document: some prompts saw only the sentences holding their pairs (meta.window)' } : {}),
        ...(report.errors.length ? { errors: report.errors } : {}),
      },
    },
  };
  return { record: out, report };
}
