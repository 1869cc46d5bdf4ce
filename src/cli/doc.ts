/**
 * The document-level commands of the CLI (LMRC): train-filter, extract-doc, bench filter,
 * bench doc-cost. Registered on the program built in cli.ts.
 */
import { Command, Option } from 'commander';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { OptionValue } from '../core/options';
import { DEFAULT_MAX_PAIRS } from '../core/pipelines/document';
import { parseRelInfo, relationSetFromRelInfo } from '../core/formats/docred';
import { encoderScorer } from '../core/pipelines/docEncoder';
import { isEncoderModel, openDocumentEncoder } from '../engine/docEncoder';
import {
  PairFilterModel,
  PairScorer,
  filterBySentenceDistance,
  filterCurve,
  parsePairFilter,
  scorePairs,
  summarizeCurve,
  trainPairFilter,
} from '../core/pipelines/pairFilter';
import { RelRecord, RelationSet, candidatePairs } from '../core/schema';
import { LlamaEmbedder } from '../engine/embedder';
import { LlamaEngine, parseLoraArg } from '../engine/llama';
import { checkAdapters } from '../node/adapters';
import { ClassifierEngine } from '../core/ports';
import { ServerCliOptions, addServerOptions, checkServerOptions, openServerEngine } from './server';
import { resolveModel } from '../engine/models';
import { openDocOutput, runDocExtractJob } from '../node/docExtract';
import { documentFiles, documentOptions } from '../node/jobs';
import { resolveTemplate } from '../node/resources';
import { onInterrupt } from '../node/interrupt';
import { prepareReplace, usingOutput } from '../node/output';
import { pathExists, readText, writeFileAtomic } from '../node/files';
import { ImportFormat, loadRecords } from '../node/load';
import { ProgressBar, RateBar } from '../node/progress';
import { NONE_ANSWER, docPromptView } from '../core/prompts/views';
import { PromptTemplate, chatPrompt } from '../core/prompts/template';
import { DocBatch, planBatches } from '../core/pipelines/docPlan';
import { cliOption, printJson, relationSetFor, threadsText } from './common';
import { defaultAdapterFor, describeShipped } from '../node/shippedAdapters';

export interface CliContext {
  load(
    file: string,
    opts: { format?: ImportFormat; relations?: string; relInfo?: string },
  ): ReturnType<typeof loadRecords>;
  modelSpec(option: string | undefined): string;
  positiveInt(v: string, name: string): number;
  setExitCode(code: number): void;
}

function fraction(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InputError(`${name} must be a number between 0 and 1, got ${JSON.stringify(v)}`);
  return n;
}

/** rel_info.json from the option, else next to the input (DocRED's layout). */
async function relInfoFor(input: string, option: string | undefined): Promise<string | undefined> {
  if (option) return option;
  const guess = path.join(path.dirname(input), 'rel_info.json');
  return (await pathExists(guess)) ? guess : undefined;
}

/** Labeled documents and their relation set (rel_info.json from the option, else beside the file). */
export async function loadDocs(
  ctx: CliContext,
  file: string,
  opts: { relations?: string; relInfo?: string; from?: ImportFormat },
): Promise<{ records: RelRecord[]; relationSet?: RelationSet }> {
  const relInfo = await relInfoFor(file, opts.relInfo);
  const r = await ctx.load(file, { format: opts.from, relations: opts.relations, relInfo });
  let rs = r.relationSet;
  if (!rs && relInfo)
    rs = relationSetFromRelInfo(parseRelInfo((await readText(relInfo)).text, relInfo));
  return { records: r.records, relationSet: rs };
}

async function loadFilter(file: string): Promise<PairFilterModel> {
  return parsePairFilter((await readText(file)).text, file);
}

/**
 * A benchmark's pair scorer: a train-filter JSON, or an encoder folder whose scores of every
 * document are computed first (one pass each; the time per document is reported).
 */
async function benchScorer(
  file: string,
  records: RelRecord[],
  rs: RelationSet | undefined,
): Promise<{ scorer: PairScorer; threshold: number; msPerDocument?: number }> {
  if (!isEncoderModel(file)) {
    const model = await loadFilter(file);
    return { scorer: model, threshold: model.threshold };
  }
  const encoder = await openDocumentEncoder(file, { relationSet: rs });
  const bar = new RateBar('documents', 'documents');
  const t0 = Date.now();
  const scorer = await encoderScorer(encoder, records, candidatePairs, (d) =>
    bar.update(d, records.length, Date.now() - t0),
  ).finally(() => bar.stop());
  return {
    scorer,
    threshold: encoder.manifest?.threshold ?? 0.5,
    msPerDocument: (Date.now() - t0) / Math.max(1, records.length),
  };
}

interface ExtractDocOptions extends ServerCliOptions {
  json?: boolean;
  textOnly?: boolean;
  mode: 'llm' | 'encoder';
  encoder?: string;
  maxPairs?: number;
  decoding: OptionValue<'documentDecoding'>;
  relationHints: number;
  model?: string;
  lora: string[];
  defaultAdapter: boolean;
  filter: string;
  threshold?: number;
  k: number;
  template: string;
  none?: boolean;
  evidence?: boolean;
  relations?: string;
  relInfo?: string;
  from?: ImportFormat;
  entityFuzzy: number;
  relationFuzzy: number;
  relationEmbedder: string;
  theta: number;
  parallel: number;
  threads?: number;
  contextSize: number;
  limit?: number;
  resume: boolean;
  force?: boolean;
  out: string;
}

export function addDocumentCommands(program: Command, bench: Command, ctx: CliContext): void {
  addTrainFilterCommand(program, ctx);
  addExtractDocCommand(program, ctx);
  addBenchFilterCommand(bench, ctx);
  addBenchDocCostCommand(bench, ctx);
}

type TrainFilterCommandOptions = {
  train: string;
  relInfo?: string;
  relations?: string;
  targetRecall: number;
  epochs: number;
  out: string;
  force?: boolean;
  json?: boolean;
};

async function trainFilterCommand(ctx: CliContext, opts: TrainFilterCommandOptions): Promise<void> {
  await prepareReplace(opts.out, [opts.train, opts.relInfo, opts.relations], opts.force);
  const { records, relationSet } = await loadDocs(ctx, opts.train, opts);
  if (!records.length) throw new InputError('no documents to train on', opts.train);
  const t0 = Date.now();
  const model = trainPairFilter(records, {
    relationSet,
    targetRecall: opts.targetRecall,
    epochs: opts.epochs,
    file: path.basename(opts.train),
    onEpoch: (e, l) => process.stderr.write(`epoch ${e}: log-loss ${l.toFixed(4)}\n`),
  });
  await writeFileAtomic(opts.out, JSON.stringify(model) + '\n');
  const t = model.trainedOn;
  process.stderr.write(
    `trained on ${t.documents} document(s), ${t.pairs} pair(s) (${t.positives} with a relation) in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${Object.keys(model.weights).length} features\n` +
      `threshold ${model.threshold.toPrecision(4)}: on ${t.heldOutDocuments} held-out document(s) it keeps ${(100 * (model.heldOut?.keptFraction ?? 0)).toFixed(1)}% of the pairs and ${(100 * (model.heldOut?.recall ?? 0)).toFixed(1)}% of the gold pairs\n` +
      `wrote ${opts.out}\n`,
  );
  if (opts.json)
    printJson({
      out: opts.out,
      documents: t.documents,
      pairs: t.pairs,
      positives: t.positives,
      features: Object.keys(model.weights).length,
      threshold: model.threshold,
      targetRecall: model.targetRecall,
      heldOut: { documents: t.heldOutDocuments, ...(model.heldOut ?? {}) },
      seconds: +((Date.now() - t0) / 1000).toFixed(1),
    });
}

async function extractDocCommand(
  ctx: CliContext,
  input: string,
  opts: ExtractDocOptions,
  cmd: Command,
): Promise<void> {
  checkServerOptions(cmd, opts);
  if (opts.engine === 'openai' && opts.relationEmbedder === 'llm')
    throw new InputError(
      '--relation-embedder llm embeds with the in-process model; with --engine openai use gguf:PATH or none',
    );
  // The outputs are checked and locked before anything is loaded (and long before the model).
  const filterFile = opts.filter !== 'none' && opts.filter !== 'llm' ? opts.filter : undefined;
  const output = await openDocOutput(opts.out, {
    inputs: [
      input,
      opts.relations,
      opts.relInfo,
      opts.model,
      filterFile,
      opts.template,
      ...opts.lora.map((l) => parseLoraArg(l).path),
    ],
    resume: opts.resume,
    force: opts.force,
  });
  await usingOutput(
    output,
    (l) => process.stderr.write(l + '\n'),
    () => extractDocInto(ctx, output, { input, opts, cmd }),
  );
}

type FilterCommandOptions = { filter: string; gold: string; relInfo?: string; json?: boolean };

async function filterCommand(ctx: CliContext, opts: FilterCommandOptions): Promise<void> {
  const { records, relationSet } = await loadDocs(ctx, opts.gold, opts);
  const {
    scorer: model,
    threshold,
    msPerDocument,
  } = await benchScorer(opts.filter, records, relationSet);
  const c = filterCurve(model, records, relationSet);
  const s = summarizeCurve(c);
  const at95 = c.atRecall(0.95);
  const atModel = c.atThreshold(threshold);
  const step = Math.max(1, Math.floor(c.points.length / 200));
  const res = {
    documents: records.length,
    pairs: c.pairs,
    gold_pairs: c.goldPairs,
    recall_at_95: at95.recall,
    kept_fraction_at_95: at95.keptFraction,
    threshold_at_95: at95.threshold,
    ...(msPerDocument !== undefined ? { ms_per_document: +msPerDocument.toFixed(1) } : {}),
    model_threshold: {
      threshold,
      recall: atModel.recall,
      kept_fraction: atModel.keptFraction,
    },
    by_kept: s.byKept,
    by_recall: s.byRecall,
    curve: c.points
      .filter((_, i) => i % step === 0 || i === c.points.length - 1)
      .map((p) => [+p.keptFraction.toFixed(5), +p.recall.toFixed(5)]),
    by_sentence_distance_at_95: filterBySentenceDistance(
      model,
      records,
      at95.threshold,
      relationSet,
    ),
  };
  if (opts.json) return printJson(res);
  const out = [
    `documents ${res.documents}, candidate pairs ${res.pairs}, gold pairs ${res.gold_pairs}`,
    '',
    `${'kept'.padStart(8)} ${'recall'.padStart(8)} ${'threshold'.padStart(10)}`,
  ];
  for (const p of s.byKept)
    out.push(
      `${(100 * p.keptFraction).toFixed(1).padStart(7)}% ${(100 * p.recall).toFixed(1).padStart(7)}% ${p.threshold.toPrecision(4).padStart(10)}`,
    );
  if (msPerDocument !== undefined)
    out.push(
      '',
      `encoder: ${msPerDocument.toFixed(1)} ms per document (one pass scores every pair)`,
    );
  out.push(
    '',
    `95% recall: keeps ${(100 * at95.keptFraction).toFixed(1)}% of the pairs (threshold ${at95.threshold.toPrecision(4)})`,
  );
  out.push(
    `the filter's own threshold ${threshold.toPrecision(4)}: recall ${(100 * atModel.recall).toFixed(1)}%, kept ${(100 * atModel.keptFraction).toFixed(1)}%`,
  );
  const pct = (a: number, b: number) => `${b ? ((100 * a) / b).toFixed(1) : '-'}%`.padStart(8);
  out.push(
    '',
    'by closest sentence distance of the mentions, at the 95%-recall threshold:',
    `${'distance'.padStart(8)} ${'pairs'.padStart(8)} ${'of gold'.padStart(8)} ${'related'.padStart(8)} ${'kept'.padStart(8)} ${'recall'.padStart(8)}`,
  );
  for (const r of res.by_sentence_distance_at_95)
    out.push(
      `${r.distance.padStart(8)} ${pct(r.pairs, res.pairs)} ${pct(r.goldPairs, res.gold_pairs)} ${pct(r.goldPairs, r.pairs)} ${pct(r.kept, r.pairs)} ${pct(r.goldKept, r.goldPairs)}`,
    );
  process.stdout.write(out.join('\n') + '\n');
}

function printDocCost(res: DocCost, json: boolean): void {
  if (json) return printJson(res);
  process.stdout.write(
    [
      `documents ${res.documents}, k ${res.k}, template ${res.template}, threshold ${res.threshold.toPrecision(4)}`,
      `all pairs:  ${res.pairs} pairs, ${res.all_pairs_prompts} prompts, ${res.all_pairs_prompt_tokens} prompt tokens (${res.tokens_per_document_all.toFixed(0)} per document)`,
      `filtered:   ${res.kept_pairs} pairs, ${res.filtered_prompts} prompts, ${res.filtered_prompt_tokens} prompt tokens (${res.tokens_per_document_filtered.toFixed(0)} per document)`,
      `token reduction: ${res.token_reduction.toFixed(2)}×`,
    ].join('\n') + '\n',
  );
}

interface DocCost {
  documents: number;
  k: number;
  template: string;
  threshold: number;
  pairs: number;
  kept_pairs: number;
  all_pairs_prompts: number;
  filtered_prompts: number;
  all_pairs_prompt_tokens: number;
  filtered_prompt_tokens: number;
  tokens_per_document_all: number;
  tokens_per_document_filtered: number;
  token_reduction: number;
}

/** The prompts and prompt tokens LMRC sends for some pairs of a document (windowed as extraction windows them). */
async function promptCost(
  engine: LlamaEngine,
  r: RelRecord,
  pairs: Array<[string, string]>,
  o: {
    rs: RelationSet;
    template: PromptTemplate;
    none: boolean;
    evidence: boolean;
    k: number;
    contextSize: number;
  },
): Promise<{ prompts: number; tokens: number }> {
  const byId = new Map(r.entities.map((e) => [e.id, e]));
  const prompt = (b: DocBatch) =>
    chatPrompt(
      o.template,
      docPromptView(
        r,
        o.rs,
        { none: o.none },
        b.pairs.map(([h, t]) => [byId.get(h)!, byId.get(t)!]),
        b.text,
      ),
    );
  const counted = new Map<DocBatch, number>();
  const count = async (b: DocBatch) =>
    counted.get(b) ?? counted.set(b, await engine.countPromptTokens(prompt(b))).get(b)!;
  const fits = async (b: DocBatch) => (await count(b)) + 16 * b.pairs.length <= o.contextSize;
  const { batches } = await planBatches(r, pairs, o.k, fits, o.evidence);
  let tokens = 0;
  for (const b of batches) tokens += await count(b);
  return { prompts: batches.length, tokens };
}

type DocCostCommandOptions = {
  filter: string;
  gold: string;
  model?: string;
  relInfo?: string;
  threshold?: number;
  k: number;
  template: string;
  contextSize: number;
  limit?: number;
  json?: boolean;
};

async function docCostCommand(ctx: CliContext, opts: DocCostCommandOptions): Promise<void> {
  const d = await loadDocs(ctx, opts.gold, opts);
  if (!d.relationSet) throw new InputError('no relation set: pass --rel-info', opts.gold);
  const rs = d.relationSet;
  const records = opts.limit ? d.records.slice(0, opts.limit) : d.records;
  const { scorer, threshold: filterThreshold } = await benchScorer(opts.filter, records, rs);
  const { template, none, evidence } = await resolveTemplate('document', opts.template);
  const modelPath = await resolveModel(ctx.modelSpec(opts.model));
  const engine = await LlamaEngine.open({ modelPath, parallel: 1, contextSize: opts.contextSize });
  try {
    const threshold = opts.threshold ?? filterThreshold;
    const bar = new RateBar('documents');
    const t0 = Date.now();
    const cost = (r: RelRecord, pairs: Array<[string, string]>) =>
      promptCost(engine, r, pairs, {
        rs,
        template,
        none,
        evidence,
        k: opts.k,
        contextSize: opts.contextSize,
      });
    let all = { prompts: 0, tokens: 0 };
    let kept = { prompts: 0, tokens: 0, pairs: 0 };
    let pairsIn = 0;
    for (const [i, r] of records.entries()) {
      const pairs = candidatePairs(r);
      pairsIn += pairs.length;
      const scores = typeof scorer === 'function' ? scorer(r, pairs) : scorePairs(scorer, r, pairs);
      const keep = pairs.filter((_, j) => scores[j]! >= threshold);
      const a = await cost(r, pairs);
      const b = await cost(r, keep);
      all = { prompts: all.prompts + a.prompts, tokens: all.tokens + a.tokens };
      kept = {
        prompts: kept.prompts + b.prompts,
        tokens: kept.tokens + b.tokens,
        pairs: kept.pairs + keep.length,
      };
      bar.update(i + 1, records.length, Date.now() - t0);
    }
    bar.stop();
    const res: DocCost = {
      documents: records.length,
      k: opts.k,
      template: template.name,
      threshold,
      pairs: pairsIn,
      kept_pairs: kept.pairs,
      all_pairs_prompts: all.prompts,
      filtered_prompts: kept.prompts,
      all_pairs_prompt_tokens: all.tokens,
      filtered_prompt_tokens: kept.tokens,
      tokens_per_document_all: all.tokens / Math.max(1, records.length),
      tokens_per_document_filtered: kept.tokens / Math.max(1, records.length),
      token_reduction: kept.tokens ? all.tokens / kept.tokens : Infinity,
    };
    printDocCost(res, !!opts.json);
  } finally {
    await engine.dispose();
  }
}

/** The documents of an extract-doc input (records, or a text whose entities the model proposes) and the relation set. */
async function docInputs(
  ctx: CliContext,
  input: string,
  opts: ExtractDocOptions,
): Promise<{
  inputs: Array<{ record: RelRecord } | { id: string; text: string }>;
  rs: RelationSet;
}> {
  let inputs: Array<{ record: RelRecord } | { id: string; text: string }>;
  let rs: RelationSet | undefined;
  if (/\.(txt|md|text)$/i.test(input)) {
    const { text } = await readText(input);
    if (!text.trim()) throw new InputError('the text file is empty', input);
    inputs = [{ id: path.basename(input), text }];
    // As extract and the editor: a relation set file beside the text when none is named.
    rs = await relationSetFor(opts, undefined, input);
  } else {
    const d = await loadDocs(ctx, input, opts);
    // --text-only: the documents as plain text (their entities are found again), to measure raw-text extraction.
    inputs = d.records.map((record) =>
      opts.textOnly ? { id: record.id, text: record.text } : { record },
    );
    rs = d.relationSet;
  }
  if (!rs)
    throw new InputError(
      'no relation set: pass --rel-info (DocRED rel_info.json) or --relations (relation-set JSON)',
      input,
    );
  return { inputs: opts.limit ? inputs.slice(0, opts.limit) : inputs, rs };
}

/** The engine of an extract-doc run: a serving engine (--engine openai) or the model in-process. */
async function openDocEngine(
  ctx: CliContext,
  cmd: Command,
  opts: ExtractDocOptions,
  run: { signal: AbortSignal; relationSet: RelationSet; template: PromptTemplate },
): Promise<{ engine: ClassifierEngine; spec: string; modelPath: string }> {
  const { signal } = run;
  if (opts.engine === 'openai') {
    const server = await openServerEngine(cmd, opts, signal);
    return { engine: server, spec: server.info.model, modelPath: '' };
  }
  const spec = ctx.modelSpec(opts.model);
  const dl = new ProgressBar(`downloading ${spec}`);
  const modelPath = await resolveModel(spec, { signal, onProgress: (d, t) => dl.update(d, t) });
  dl.stop();
  let loras = opts.lora.map(parseLoraArg);
  for (const w of await checkAdapters(loras, { modelPath, ...run, level: 'document' }))
    process.stderr.write(`warning: ${w}\n`);
  // No adapter given: the document adapter the project ships for exactly this run, unless turned off.
  const shipped =
    !loras.length && opts.defaultAdapter && opts.mode !== 'encoder'
      ? await defaultAdapterFor({
          modelPath,
          relationSet: run.relationSet,
          template: run.template,
          answers: 'names',
          level: 'document',
          rag: false,
        })
      : undefined;
  if (shipped) {
    loras = [{ path: shipped.path, scale: 1 }];
    process.stderr.write(
      `LoRA: ${describeShipped(shipped)}, applied by default (--no-default-adapter: the base model alone)\n`,
    );
  }
  return {
    engine: await LlamaEngine.open({
      modelPath,
      loras,
      threads: opts.threads,
      parallel: opts.parallel,
      contextSize: opts.contextSize,
      signal,
    }),
    spec,
    modelPath,
  };
}

/** The relation embedder of --relation-embedder (none: undefined). */
async function openRelationEmbedder(
  opts: ExtractDocOptions,
  modelPath: string,
  signal: AbortSignal,
): Promise<LlamaEmbedder | undefined> {
  if (opts.relationEmbedder === 'none') return undefined;
  const gguf = opts.relationEmbedder.startsWith('gguf:')
    ? opts.relationEmbedder.slice(5)
    : undefined;
  if (!gguf && opts.relationEmbedder !== 'llm')
    throw new InputError(
      `--relation-embedder must be none, llm or gguf:PATH, got ${JSON.stringify(opts.relationEmbedder)}`,
    );
  return LlamaEmbedder.open(gguf ?? modelPath, gguf ? 'gguf' : 'llm', {
    threads: opts.threads,
    signal,
  });
}

/** extract-doc --json: the run's summary as one JSON object on standard output. */
function printDocSummary(res: Awaited<ReturnType<typeof runDocExtractJob>>, out: string): void {
  const t = res.report;
  printJson({
    out,
    documents: res.documents,
    resumed: res.skippedDocuments,
    pairs: t.pairsIn,
    kept: t.pairsKept,
    prompts: t.prompts,
    relations: t.relations,
    errors: t.errors.length,
    report: res.reportFile,
    ...(res.submissionFile ? { submission: res.submissionFile } : {}),
  });
}

/** What extract-doc tells the user at the end: where every pair and triple went. */
function docSummary(res: Awaited<ReturnType<typeof runDocExtractJob>>, out: string): string[] {
  const t = res.report;
  return [
    `documents: ${res.documents}${res.skippedDocuments ? ` (+${res.skippedDocuments} already in ${out})` : ''}`,
    `candidate stage (${t.filter}${t.threshold !== null ? `, threshold ${t.threshold.toPrecision(4)}` : ''}): ${t.pairsIn} pair(s) in, ${t.pairsKept} kept (${(100 * t.keptFraction).toFixed(1)}%)${t.goldPairRecall !== null ? `, gold-pair recall ${(100 * t.goldPairRecall).toFixed(1)}%` : ''}`,
    `prompts: ${t.prompts}, prompt tokens ${t.promptTokens} (${t.reusedTokens} from the KV cache), answer tokens ${t.generatedTokens}${t.scoredSteps ? ` (decoding walk: ${t.scoredSteps} scored steps)` : ''}${t.filterPromptTokens ? `, yes/no filter ${t.filterPromptTokens}` : ''}${t.windows ? `, ${t.windows} windowed prompt(s)` : ''}`,
    `output: ${t.outputLines} line(s), ${t.malformedLines} malformed; ${t.triples} triple(s): ${t.relations} relation(s) written, ${t.noneAnswers} None, ${t.duplicates} repeated${t.outsidePrompt ? ` (${t.outsidePrompt} written about a pair the prompt did not ask for)` : ''}`,
    `dropped: ${
      Object.entries(t.dropped)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'nothing'
    }`,
    ...res.proposedEntities.map(
      (p) =>
        `entities found in ${p.id} (${p.entities.length}): ${p.entities.join(', ') || 'none'}${p.ungrounded.length ? `; proposed but not in the text: ${p.ungrounded.join(', ')}` : ''}${p.failedChunks ? ` — the model's entity list was malformed or failed in ${p.failedChunks} of ${p.chunks} chunk(s) of the text: no entities from ${p.failedChunks === p.chunks ? 'it' : 'those'} (see the report)` : ''}`,
    ),
    `report: ${res.reportFile}${res.submissionFile ? `; DocRED submission: ${res.submissionFile}` : ''}`,
  ];
}

/** extract-doc --mode encoder: the document encoder's own relations, no LLM loaded. */
async function encoderOnlyRun(
  ctx: CliContext,
  output: Awaited<ReturnType<typeof openDocOutput>>,
  run: {
    inputs: Awaited<ReturnType<typeof docInputs>>['inputs'];
    rs: RelationSet;
    files: Awaited<ReturnType<typeof documentFiles>>;
    opts: ExtractDocOptions;
  },
): Promise<void> {
  const { inputs, rs, files, opts } = run;
  const options = await documentOptions(
    {
      relationSet: rs,
      template: opts.template,
      k: opts.k,
      filter: opts.filter,
      mode: 'encoder',
      model: `encoder:${files.encoder!.source}`,
    },
    files,
  );
  process.stderr.write(
    `mode encoder: the relations of ${files.encoder!.source} (${files.encoder!.relations.length} relations), no LLM\n`,
  );
  const bar = new RateBar('documents', 'documents');
  const res = await runDocExtractJob({
    engine: null,
    inputs,
    options,
    out: opts.out,
    resume: opts.resume,
    output,
    onProgress: (p) => bar.update(p.documents, p.totalDocuments, p.elapsedMs),
  }).finally(() => bar.stop());
  process.stderr.write(docSummary(res, opts.out).join('\n') + '\n');
  if (res.report.errors.length) ctx.setExitCode(3);
  if (opts.json) printDocSummary(res, opts.out);
}

function engineLine(
  opts: ExtractDocOptions,
  engine: ClassifierEngine,
  spec: string,
  modelPath: string,
): string {
  const i = engine.info;
  return opts.engine === 'openai'
    ? `engine: ${i.backend}, model ${spec}, ${i.parallel} request(s) in flight, context ${i.contextSize} tokens\n`
    : `engine: ${i.backend}, ${threadsText(i)}, ${i.parallel} sequence(s) × ${i.contextSize} tokens; model ${modelPath}${i.adapters.length ? `; LoRA ${i.adapters.map((a) => `${a.path}:${a.scale}`).join(', ')}` : ''}\n`;
}

async function extractDocInto(
  ctx: CliContext,
  output: Awaited<ReturnType<typeof openDocOutput>>,
  run: { input: string; opts: ExtractDocOptions; cmd: Command },
): Promise<void> {
  const { input, opts, cmd } = run;
  const { inputs, rs } = await docInputs(ctx, input, opts);
  // Template, filter and encoder are read (and checked) before the model loads.
  const files = await documentFiles({ ...opts, relationSet: rs }, (l) =>
    process.stderr.write(l + '\n'),
  );
  if (opts.mode === 'encoder') return encoderOnlyRun(ctx, output, { inputs, rs, files, opts });
  const controller = new AbortController();
  const stopListening = onInterrupt(
    controller,
    'stopping (Ctrl-C again to stop at once); the finished documents are kept, run the same command again to resume',
  );
  const { engine, spec, modelPath } = await openDocEngine(ctx, cmd, opts, {
    signal: controller.signal,
    relationSet: rs,
    template: files.template,
  });
  let embedder: LlamaEmbedder | undefined;
  let done = 0;
  try {
    embedder = await openRelationEmbedder(opts, modelPath, controller.signal);
    process.stderr.write(engineLine(opts, engine, spec, modelPath));
    const options = await documentOptions(
      {
        relationSet: rs,
        template: opts.template,
        k: opts.k,
        filter: opts.filter,
        entityFuzzy: opts.entityFuzzy,
        relationFuzzy: opts.relationFuzzy,
        theta: opts.theta,
        embedder,
        maxPairs: opts.maxPairs,
        decoding: opts.decoding,
        relationHints: opts.relationHints,
        model: spec,
        signal: controller.signal,
      },
      files,
    );
    process.stderr.write(
      `relation set ${rs.name} (${rs.labels.length} labels), template ${options.template.name}${options.none ? ` (answers may be ${NONE_ANSWER})` : ''}, k=${opts.k}, filter ${opts.filter}\n` +
        (files.encoder && inputs.some((x) => !('record' in x))
          ? `entities of plain text: the mentions of the encoder ${files.encoder.source}\n`
          : ''),
    );
    const bar = new RateBar('documents', 'documents');
    const onProgress = (p: { documents: number; totalDocuments: number; elapsedMs: number }) => {
      done = p.documents;
      bar.update(p.documents, p.totalDocuments, p.elapsedMs);
    };
    const res = await runDocExtractJob({
      engine,
      inputs,
      options,
      out: opts.out,
      resume: opts.resume,
      output,
      onProgress,
    }).finally(() => bar.stop());
    process.stderr.write(docSummary(res, opts.out).join('\n') + '\n');
    if (res.report.errors.length || res.proposedEntities.some((p) => p.failedChunks))
      ctx.setExitCode(3);
    if (opts.json) printDocSummary(res, opts.out);
  } catch (e) {
    if (!(controller.signal.aborted && (e as Error).name === 'AbortError')) throw e;
    process.stderr.write(
      `interrupted: ${done} document(s) written to ${opts.out}; run the same command again to resume\n`,
    );
    ctx.setExitCode(130);
  } finally {
    stopListening();
    await embedder?.dispose();
    await engine.dispose();
  }
}

function addTrainFilterCommand(program: Command, ctx: CliContext): void {
  program
    .command('train-filter')
    .description(
      'train the candidate-pair filter (LMRC relation candidate proposal) on labeled documents',
    )
    .argument('[train]', 'labeled documents (DocRED JSON or canonical JSONL with entities)')
    .addOption(
      new Option('--train <file>', 'deprecated: the training file as an argument').hideHelp(),
    )
    .option('--rel-info <file>', 'rel_info.json (DocRED; default: next to the training file)')
    .option('--relations <file>', 'relation set JSON (its no-relation label is not a relation)')
    .option(
      '--target-recall <r>',
      'the default keep-threshold reaches this recall of gold pairs on held-out documents',
      (v) => fraction(v, '--target-recall'),
      0.95,
    )
    .option('--epochs <n>', 'training epochs', (v) => ctx.positiveInt(v, '--epochs'), 6)
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'also print the result as one JSON object on standard output')
    .requiredOption('-o, --out <file>', 'filter JSON')
    .action((train: string | undefined, opts: TrainFilterCommandOptions) => {
      if (train && opts.train)
        throw new InputError(
          'give the training file once: as the argument (--train is its old name)',
        );
      if (!train && !opts.train)
        throw new InputError(
          'train-filter needs the labeled documents: relation-lens train-filter TRAIN -o FILTER.json',
        );
      if (opts.train)
        process.stderr.write(
          'note: --train is now the argument (train-filter TRAIN -o …); --train still works for now\n',
        );
      return trainFilterCommand(ctx, { ...opts, train: train ?? opts.train! });
    });
}

const encoderOption = new Option(
  '--encoder <dir|none>',
  "a document encoder folder (train-encoder) whose mentions give a plain text its entities (default: the filter's, when it is an encoder); none: the LLM proposes them",
);

const textOnlyOption = new Option(
  '--text-only',
  "read only the documents' texts: their entities are found as in plain text (score with eval --match-entities text)",
);

const maxPairsOption = new Option(
  '--max-pairs <n>',
  `the most candidate pairs of one document sent to the model, after the filter (default ${DEFAULT_MAX_PAIRS}; 0: no limit); a document above it is written unchanged with an error`,
).argParser((v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new InputError(`--max-pairs must be an integer ≥ 0, got ${JSON.stringify(v)}`);
  return n;
});

function addExtractDocCommand(program: Command, ctx: CliContext): void {
  program
    .command('extract-doc')
    .description(
      'document-level extraction (LMRC): candidate pairs → filter → k pairs per prompt → aligned triples',
    )
    .argument(
      '<in>',
      'DocRED JSON, canonical JSONL with entities, or a plain .txt file (entities are proposed by the model)',
    )
    .option(
      '--model <path|uri|id>',
      'GGUF model: a path, hf:user/repo/file.gguf, an https URL, or a catalog id (default: $RELATION_LENS_MODEL, else the catalog default)',
    )
    .option(
      '--lora <file[:scale]>',
      'LoRA adapter GGUF with an optional scale (repeatable; train-lora --level document makes them)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .addOption(cliOption('defaultAdapter'))
    .addOption(cliOption('documentFilter'))
    .addOption(cliOption('threshold'))
    .addOption(cliOption('documentK'))
    .addOption(cliOption('documentMode'))
    .addOption(encoderOption)
    .addOption(textOnlyOption)
    .addOption(maxPairsOption)
    .addOption(cliOption('documentTemplate'))
    .addOption(cliOption('documentDecoding'))
    .addOption(cliOption('documentRelationHints'))
    .option('--none', 'allow the answer None with a template file')
    .option(
      '--evidence',
      'with a template file: number the sentences and ask for evidence after each relation',
    )
    .option('--relations <file>', 'relation set JSON')
    .option('--rel-info <file>', 'rel_info.json (DocRED; default: next to the input)')
    .addOption(
      new Option('--from <format>', 'input format (detected when omitted)').choices([
        'docred',
        'jsonl',
      ]),
    )
    .addOption(cliOption('entityFuzzy'))
    .addOption(cliOption('relationFuzzy'))
    .option(
      '--relation-embedder <kind>',
      'map out-of-set relation names by embedding similarity: none, llm (the model), or gguf:PATH',
      'none',
    )
    .addOption(cliOption('theta'))
    .addOption(cliOption('parallel'))
    .addOption(cliOption('threads'))
    .addOption(cliOption('contextSize'))
    .option('--limit <n>', 'only the first N documents', (v) => ctx.positiveInt(v, '--limit'))
    .option('--json', 'print the run summary as one JSON object on standard output')
    .option(
      '--no-resume',
      'start over instead of resuming after the documents already in the output (needs --force when the output exists)',
    )
    .option(
      '--force',
      'with --no-resume: replace an existing output; also replace report/submission files or a file that is not a Relation Lens output',
    )
    .requiredOption(
      '-o, --out <file>',
      'output JSONL (also OUT.report.json and, for DocRED relation sets, OUT.submission.json)',
    )
    .action((input: string, opts: ExtractDocOptions, cmd: Command) =>
      extractDocCommand(ctx, input, opts, cmd),
    );
  addServerOptions(program.commands.find((c) => c.name() === 'extract-doc')!);
}

function addBenchFilterCommand(bench: Command, ctx: CliContext): void {
  bench
    .command('filter')
    .description(
      'candidate filter quality: recall of gold pairs against the fraction of pairs kept',
    )
    .requiredOption('--filter <file>', 'filter JSON (train-filter)')
    .requiredOption('--gold <file>', 'labeled documents (DocRED JSON or canonical JSONL)')
    .option('--rel-info <file>', 'rel_info.json (default: next to --gold)')
    .option('--json', 'print one JSON object')
    .action((opts: FilterCommandOptions) => filterCommand(ctx, opts));
}

function addBenchDocCostCommand(bench: Command, ctx: CliContext): void {
  bench
    .command('doc-cost')
    .description(
      'LLM prompt tokens per document with the filter versus all pairs (same model, same k, same template)',
    )
    .requiredOption('--filter <file>', 'filter JSON (train-filter)')
    .requiredOption('--gold <file>', 'documents (DocRED JSON or canonical JSONL)')
    .option(
      '--model <path|uri|id>',
      'GGUF model whose tokenizer and chat template count the tokens',
    )
    .option('--rel-info <file>', 'rel_info.json (default: next to --gold)')
    .addOption(
      cliOption('threshold', { description: "keep-threshold (default: the filter file's)" }),
    )
    .addOption(cliOption('documentK'))
    .addOption(cliOption('documentTemplate'))
    .addOption(
      cliOption('contextSize', {
        description: 'context size (long documents are windowed to fit)',
      }),
    )
    .option('--limit <n>', 'only the first N documents', (v) => ctx.positiveInt(v, '--limit'))
    .option('--json', 'print one JSON object')
    .action((opts: DocCostCommandOptions) => docCostCommand(ctx, opts));
}
