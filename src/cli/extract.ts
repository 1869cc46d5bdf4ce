/**
 * The sentence-level commands of the CLI: extract, index build, bench throughput. Registered on
 * the program built in cli.ts.
 */
import { Command, Option } from 'commander';
import {
  MAX_SHOWN,
  cliOption,
  fromOption,
  limitOption,
  load,
  printJson,
  modelSpec,
  positiveInt,
  positiveNumber,
  raiseExitCode,
  relationSetFor,
  resolveTemplate,
  threadsText,
  NO_RELATION_SET,
} from './common';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { ImportFormat, detectFormat } from '../node/load';
import { ProgressBar, RateBar } from '../node/progress';
import { DecodeMode } from '../core/pipelines/sentence';
import { LlamaEngine, parseLoraArg, runtimeVersions } from '../engine/llama';
import { RunRecord, appendRunRecord, fileDigest, textSha256 } from '../node/provenance';
import { resolveModel } from '../engine/models';
import { runExtractJob } from '../node/extract';
import { checkAdapters } from '../node/adapters';
import { defaultAdapterFor, describeShipped } from '../node/shippedAdapters';
import { openRecordOutput, usingOutput } from '../node/output';
import { onInterrupt } from '../node/interrupt';
import { buildIndex, indexFolderState, loadIndex } from '../node/ragIndex';
import { benchThroughput } from '../node/bench';
import { TrainingRetriever } from '../core/retrieval/retriever';
import { sentenceSpace } from '../node/jobs';
import { ClassifierEngine } from '../core/ports';
import {
  EmbeddingsCliOptions,
  ServerCliOptions,
  addEmbeddingsOptions,
  addServerOptions,
  checkServerOptions,
  embeddingsAccess,
  embeddingsLine,
  openServerEngine,
} from './server';
import { effectiveMode } from '../core/pipelines/sentence';
import { ServerEngine, apiKeyFrom, parseServerEmbedderSpec } from '../engine/server';
import { DirectionMode } from '../core/pipelines/answerSpace';
import { RelRecord, RelationSet } from '../core/schema';
import { PromptTemplate } from '../core/prompts/template';

/** An index folder may be new, empty, or (with --force) an index this tool built; nothing else. */
async function checkIndexFolder(dir: string, force: boolean | undefined): Promise<void> {
  const state = await indexFolderState(dir);
  if (state === 'foreign')
    throw new InputError(
      'the folder is not empty and holds no index (manifest.json); choose a new or empty folder',
      dir,
    );
  if (state === 'index' && !force)
    throw new InputError('the folder holds an index; pass --force to replace it', dir);
}

interface ExtractCliOptions extends ServerCliOptions, EmbeddingsCliOptions {
  model?: string;
  lora: string[];
  template: string;
  relations?: string;
  from?: ImportFormat;
  mode: DecodeMode;
  direction?: DirectionMode;
  parallel: number;
  threads?: number;
  contextSize: number;
  limit?: number;
  resume: boolean;
  retryErrors?: boolean;
  json?: boolean;
  force?: boolean;
  out: string;
  rag?: string;
  k: number;
  scoreMargin: number;
  answers: 'names' | 'codes';
  deterministic?: boolean;
  /** false with --no-default-adapter. */
  defaultAdapter: boolean;
}

async function extractCommand(input: string, opts: ExtractCliOptions, cmd: Command): Promise<void> {
  checkServerOptions(cmd, opts);
  if ((opts.embeddingsEndpoint || opts.embeddingsApiKeyEnv) && !opts.rag)
    throw new InputError('--embeddings-endpoint and --embeddings-api-key-env go with --rag');
  if (opts.retryErrors && !opts.resume)
    throw new InputError('--retry-errors resumes a run; it does not go with --no-resume');
  if (opts.engine === 'openai' && opts.mode === 'knn')
    throw new InputError('--mode knn uses no model; drop --engine openai');
  // The output is checked and locked before anything is loaded (and long before the model).
  const output = await openRecordOutput(opts.out, {
    inputs: [
      input,
      opts.relations,
      opts.template,
      opts.model,
      opts.rag && path.join(opts.rag, 'manifest.json'),
      ...opts.lora.map((l) => parseLoraArg(l).path),
    ],
    resume: opts.resume,
    retryErrors: opts.retryErrors,
    force: opts.force,
  });
  await usingOutput(
    output,
    (l) => process.stderr.write(l + '\n'),
    () => extractInto(output, input, opts, cmd),
  );
}

/** The records of an extract input, its relation set, and the template (prose is refused: extract-doc's job). */
async function extractInputs(
  input: string,
  opts: ExtractCliOptions,
): Promise<{ records: RelRecord[]; rs: RelationSet; template: PromptTemplate }> {
  if (!opts.from && /\.(txt|md|text)$/i.test(input)) {
    // Plain prose has no entities to classify: that is extract-doc's job.
    const format = await detectFormat(input).catch(() => undefined);
    if (!format)
      throw new InputError(
        'this looks like plain text without entity annotations; `relation-lens extract-doc` finds the entities and their relations in prose (or pass --from FORMAT for a dataset file)',
        input,
      );
  }
  const r = await load(input, { format: opts.from, relations: opts.relations });
  const rs = await relationSetFor(opts, r.relationSet, input);
  if (!rs) throw new InputError(NO_RELATION_SET, input);
  return {
    records: opts.limit ? r.records.slice(0, opts.limit) : r.records,
    rs,
    template: await resolveTemplate(opts.template),
  };
}

interface SentenceEngine {
  engine?: ClassifierEngine;
  /** The model as the records name it (knn: "knn"). */
  spec: string;
  /** The decoding the engine does (a serving engine may fall back to generation). */
  mode: DecodeMode;
  provenance: Record<string, unknown>;
}

/**
 * The adapters of an in-process run: --lora (checked against its manifest), else the adapter the
 * project ships for exactly this run (--no-default-adapter: none).
 */
async function adaptersOf(
  opts: ExtractCliOptions,
  modelPath: string,
  run: { rs: RelationSet; template: PromptTemplate },
): Promise<Array<{ path: string; scale: number }>> {
  const given = opts.lora.map(parseLoraArg);
  for (const w of await checkAdapters(given, {
    modelPath,
    relationSet: run.rs,
    template: run.template,
    answers: opts.answers,
  }))
    process.stderr.write(`warning: ${w}\n`);
  if (given.length || !opts.defaultAdapter) return given;
  const shipped = await defaultAdapterFor({
    modelPath,
    relationSet: run.rs,
    template: run.template,
    answers: opts.answers,
    level: 'sentence',
    rag: !!opts.rag,
  });
  if (!shipped) return [];
  process.stderr.write(
    `LoRA: ${describeShipped(shipped)}, applied by default (--no-default-adapter: the base model alone)\n`,
  );
  return [{ path: shipped.path, scale: 1 }];
}

/** The engine of an extract run: none (knn), a serving engine (--engine openai) or the model in-process. */
async function openSentenceEngine(
  cmd: Command,
  opts: ExtractCliOptions,
  run: { rs: RelationSet; template: PromptTemplate; answers: number; signal: AbortSignal },
): Promise<SentenceEngine> {
  const deterministic = opts.deterministic ? ' (deterministic)' : '';
  if (opts.mode === 'knn') return { spec: 'knn', mode: 'knn', provenance: {} };
  if (opts.engine === 'openai') {
    const server = await openServerEngine(cmd, opts, run.signal);
    const i = server.info;
    process.stderr.write(
      `engine: ${i.backend}, model ${server.servedModel}, ${i.parallel} request(s) in flight, context ${i.contextSize} tokens${deterministic}\n`,
    );
    const m = effectiveMode(i, opts.mode, opts.answers === 'codes', run.answers);
    if (m.note) process.stderr.write(`note: ${m.note}\n`);
    const provenance = {
      model: { spec: i.model, served: server.servedModel, endpoint: server.endpoint },
      engine: {
        backend: 'server',
        flavor: server.flavor,
        endpoint: server.endpoint,
        parallel: i.parallel,
        contextSize: i.contextSize,
      },
    };
    return { engine: server, spec: i.model, mode: m.mode, provenance };
  }
  const spec = modelSpec(opts.model);
  const dl = new ProgressBar(`downloading ${spec}`);
  const modelPath = await resolveModel(spec, {
    signal: run.signal,
    onProgress: (d, t) => dl.update(d, t),
  });
  dl.stop();
  const loras = await adaptersOf(opts, modelPath, run);
  const engine = await LlamaEngine.open({
    modelPath,
    loras,
    threads: opts.threads,
    parallel: opts.deterministic ? 1 : opts.parallel,
    // The thread count changes the arithmetic: a deterministic run keeps it fixed.
    ...(opts.deterministic ? { threadPolicy: 'fixed' as const } : {}),
    contextSize: opts.contextSize,
    signal: run.signal,
  });
  const i = engine.info;
  process.stderr.write(
    `engine: ${i.backend}, ${threadsText(i)}, ${i.parallel} sequence(s) × ${i.contextSize} tokens${deterministic}; model ${modelPath}${i.adapters.length ? `; LoRA ${i.adapters.map((a) => `${a.path}:${a.scale}`).join(', ')}` : ''}\n`,
  );
  const provenance = {
    model: { spec, ...(await fileDigest(modelPath)) },
    adapters: await Promise.all(
      i.adapters.map(async (a) => ({ ...(await fileDigest(a.path)), scale: a.scale })),
    ),
    engine: {
      backend: i.backend,
      threads: i.threads,
      threadPolicy: i.threadPolicy ?? 'fixed',
      parallel: i.parallel,
      contextSize: i.contextSize,
      ...(await runtimeVersions()),
    },
  };
  return { engine, spec, mode: opts.mode, provenance };
}

/** The retrieval index of --rag (knn needs one). */
async function openRag(
  opts: ExtractCliOptions,
): Promise<Awaited<ReturnType<typeof loadIndex>> | undefined> {
  if (!opts.rag) {
    if (opts.mode === 'knn') throw new InputError('--mode knn needs --rag INDEX');
    return undefined;
  }
  const rag = await loadIndex(opts.rag, {
    threads: opts.threads,
    embeddings: embeddingsAccess(opts),
  });
  process.stderr.write(
    `retrieval: ${rag.manifest.kind} index of ${rag.manifest.count} examples (${opts.rag}), k=${opts.k}${embeddingsLine(rag.server)}\n`,
  );
  return rag;
}

/** extract --json: the run's summary as one JSON object on standard output. */
function printRunSummary(
  p: Awaited<ReturnType<typeof runExtractJob>>,
  status: RunRecord['status'],
  out: string,
  engine: ClassifierEngine | undefined,
): void {
  printJson({
    status,
    out,
    records: p.records,
    pairs: p.pairs,
    resumed: p.skippedRecords,
    errors: p.errors.length,
    seconds: p.elapsedMs / 1000,
    ...(engine instanceof ServerEngine
      ? { requests: engine.requests.sent, retried: engine.requests.retried }
      : {}),
  });
}

/** What extract tells the user at the end; the run's status. */
function reportExtract(
  p: Awaited<ReturnType<typeof runExtractJob>>,
  opts: ExtractCliOptions,
  engine: ClassifierEngine | undefined,
  aborted: boolean,
): RunRecord['status'] {
  if (p.skippedRecords)
    process.stderr.write(
      `resumed: ${p.skippedRecords} record(s) were already in ${opts.out} (kept as they are)\n`,
    );
  if (p.totalRecords === 0) {
    process.stderr.write(
      `nothing to do: all ${p.skippedRecords} record(s) are in ${opts.out} already (--no-resume --force starts over)\n`,
    );
    return 'completed';
  }
  for (const e of p.errors.slice(0, MAX_SHOWN)) process.stderr.write(`error: ${e}\n`);
  if (p.errors.length) {
    raiseExitCode(3);
    process.stderr.write(
      `${p.errors.length} pair(s) had errors; the same command with --retry-errors extracts their records again\n`,
    );
  }
  const rate = p.elapsedMs > 0 ? (1000 * p.pairs) / p.elapsedMs : 0;
  process.stderr.write(
    `wrote ${p.records} record(s) (${p.pairs} pair(s), ${rate.toFixed(2)} examples/s) to ${opts.out}\n`,
  );
  if (engine instanceof ServerEngine) {
    const q = engine.requests;
    process.stderr.write(
      `server: ${q.sent} request(s), ${q.retried} retried${engine.outOfSet ? `, ${engine.outOfSet} answer(s) outside the relation set (reported as errors)` : ''}\n`,
    );
  }
  if (!aborted) return 'completed';
  process.stderr.write(
    `interrupted: ${p.records} of ${p.totalRecords} record(s) done; run the same command again to resume\n`,
  );
  raiseExitCode(130);
  return 'interrupted';
}

/** What determines a run's result besides the engine: input, template, relation set, settings (hashes). */
async function runProvenance(
  input: string,
  r: { template: PromptTemplate; rs: RelationSet; mode: DecodeMode; direction: DirectionMode },
  opts: ExtractCliOptions,
): Promise<Record<string, unknown>> {
  return {
    input: await fileDigest(input),
    template: { name: r.template.name, sha256: textSha256(JSON.stringify(r.template)) },
    relationSet: { name: r.rs.name, sha256: textSha256(JSON.stringify(r.rs)) },
    settings: {
      mode: r.mode,
      answers: opts.answers,
      direction: r.direction,
      rag: opts.rag ?? null,
      k: opts.rag ? opts.k : null,
      scoreMargin: opts.scoreMargin,
      limit: opts.limit ?? null,
      deterministic: !!opts.deterministic,
    },
  };
}

/** The run record of a run that starts now (failed until it says otherwise). */
function startRun(resumed: number): RunRecord {
  const command = process.argv.slice(2).join(' ');
  return {
    command,
    started: new Date().toISOString(),
    finished: '',
    status: 'failed',
    records: { written: 0, resumed },
  };
}

/** Appends the run record (with its provenance) to OUT.runs.jsonl; a failure is a warning. */
async function finishRun(
  out: string,
  run: RunRecord,
  provenance: Record<string, unknown>,
): Promise<void> {
  await appendRunRecord(out, { ...run, finished: new Date().toISOString(), ...provenance }).catch(
    (e: Error) => process.stderr.write(`warning: the run record was not written: ${e.message}\n`),
  );
}

async function extractInto(
  output: Awaited<ReturnType<typeof openRecordOutput>>,
  input: string,
  opts: ExtractCliOptions,
  cmd: Command,
): Promise<void> {
  const { records, rs, template } = await extractInputs(input, opts);
  const { space, direction } = sentenceSpace(rs, opts.direction);
  const controller = new AbortController();
  const stopListening = onInterrupt(
    controller,
    'stopping after the records in flight (Ctrl-C again to stop at once); run the same command again to resume',
  );
  const rag = await openRag(opts);
  const retriever = rag ? new TrainingRetriever(rag.examples, rag.searcher, space) : undefined;
  const { engine, spec, mode, provenance } = await openSentenceEngine(cmd, opts, {
    rs,
    template,
    answers: space.answers.length,
    signal: controller.signal,
  });
  process.stderr.write(
    `relation set ${rs.name} (${rs.labels.length} labels${rs.noRelation ? ` + ${rs.noRelation}` : ''}), template ${template.name}, mode ${mode}, direction ${direction}\n`,
  );
  const bar = new RateBar('extracting');
  let last: { records: number; totalRecords: number } | undefined;
  const run = startRun(output.done.size);
  Object.assign(provenance, await runProvenance(input, { template, rs, mode, direction }, opts));
  const onProgress = (pr: {
    records: number;
    totalRecords: number;
    pairs: number;
    totalPairs: number;
    elapsedMs: number;
  }) => {
    last = pr;
    bar.update(pr.pairs, pr.totalPairs, pr.elapsedMs);
  };
  try {
    const job = {
      engine,
      records,
      relationSet: rs,
      template,
      mode,
      direction,
      out: opts.out,
      resume: opts.resume,
      output,
      model: spec,
      retriever,
      k: opts.k,
      scoreMargin: opts.scoreMargin,
      answerCodes: opts.answers === 'codes',
      signal: controller.signal,
      onProgress,
    };
    const p = await runExtractJob(job).finally(() => bar.stop());
    run.status = reportExtract(p, opts, engine, controller.signal.aborted);
    if (opts.json) printRunSummary(p, run.status, opts.out, engine);
  } catch (e) {
    if (!(controller.signal.aborted && (e as Error).name === 'AbortError')) throw e;
    process.stderr.write(
      `interrupted: ${last?.records ?? 0} record(s) written to ${opts.out}${last ? ` (${last.totalRecords - last.records} left)` : ''}; run the same command again to resume\n`,
    );
    raiseExitCode(130);
    run.status = 'interrupted';
  } finally {
    stopListening();
    await finishRun(
      opts.out,
      { ...run, records: { ...run.records, written: last?.records ?? 0 } },
      provenance,
    );
    await engine?.dispose();
    await rag?.dispose();
  }
}

export function addExtractCommands(program: Command, bench: Command): void {
  addExtractCommand(program);
  addIndexCommand(program);
  addBenchThroughputCommand(bench);
}

type BuildCommandOptions = {
  embedder: string;
  apiKeyEnv?: string;
  model?: string;
  relations?: string;
  from?: ImportFormat;
  threads?: number;
  out: string;
  force?: boolean;
};

async function buildCommand(train: string, opts: BuildCommandOptions): Promise<void> {
  await checkIndexFolder(opts.out, opts.force);
  const r = await load(train, { format: opts.from, relations: opts.relations });
  const rs = await relationSetFor(opts, r.relationSet, train);
  const model = opts.embedder === 'llm' ? await resolveModel(modelSpec(opts.model)) : undefined;
  const bar = new RateBar('embedding');
  const t0 = Date.now();
  if (opts.apiKeyEnv && !opts.embedder.startsWith('openai:'))
    throw new InputError('--api-key-env goes with --embedder openai:ENDPOINT');
  // The key goes to the server named here on the command line, and to no other.
  const server = opts.embedder.startsWith('openai:')
    ? parseServerEmbedderSpec(opts.embedder).endpoint
    : undefined;
  const apiKey = server ? apiKeyFrom(opts.apiKeyEnv) : undefined;
  if (server)
    process.stderr.write(`embeddings from ${server}, ${apiKey ? 'with' : 'without'} an API key\n`);
  const m = await buildIndex(r.records, rs?.noRelation, opts.out, {
    embedder: opts.embedder,
    model,
    source: train,
    threads: opts.threads,
    keys: server && apiKey ? [{ endpoint: server, apiKey }] : [],
    onProgress: (d, t) => bar.update(d, t, Date.now() - t0),
  }).finally(() => bar.stop());
  process.stderr.write(
    `indexed ${m.count} example(s) (${m.kind}${m.dimension ? `, ${m.dimension} dimensions` : ''}) in ${opts.out}\n`,
  );
}

type ThroughputCommandOptions = {
  model?: string;
  data: string;
  n: number;
  naiveN?: number;
  parallel: number;
  threads?: number;
  template: string;
  mode: DecodeMode;
  scoreMargin: number;
  answers: 'names' | 'codes';
  json?: boolean;
};

async function throughputCommand(opts: ThroughputCommandOptions): Promise<void> {
  const r = await load(opts.data, {});
  const modelPath = await resolveModel(modelSpec(opts.model));
  const res = await benchThroughput({
    modelPath,
    records: r.records,
    n: opts.n,
    naiveN: opts.naiveN,
    parallel: opts.parallel,
    threads: opts.threads,
    template: await resolveTemplate(opts.template),
    relationSet: r.relationSet,
    mode: opts.mode,
    scoreMargin: opts.scoreMargin,
    answerCodes: opts.answers === 'codes',
    log: (s) => process.stderr.write(s + '\n'),
  });
  if (opts.json) printJson(res);
  else {
    const row = (k: string, v: string) => `${k.padEnd(40)} ${v}`;
    process.stdout.write(
      [
        row('model', res.model),
        row(
          'examples opt / naive; threads; parallel',
          `${res.n} / ${res.naive_n}; ${res.threads}; ${res.parallel}`,
        ),
        row('prompt tokens (one example)', String(res.prompt_tokens)),
        row('naive examples/s', res.naive_examples_per_s.toFixed(3)),
        row(
          `optimized (${res.optimized_mode}${res.answer_codes ? ', answer codes' : res.optimized_mode === 'score' ? `, margin ${res.score_margin}` : ''}) examples/s`,
          res.optimized_examples_per_s.toFixed(3),
        ),
        row('speedup (optimized ÷ naive)', `${res.speedup.toFixed(2)}×`),
        row(
          'tokens evaluated per example naive/opt',
          `${res.naive_tokens_per_example.toFixed(1)} / ${res.optimized_tokens_per_example.toFixed(1)}`,
        ),
        row('raw prompt eval tokens/s (limit)', res.raw_prompt_eval_tokens_per_s.toFixed(1)),
        row('optimized tokens/s ÷ limit', res.limit_fraction.toFixed(3)),
        row('same-shape chunk eval tokens/s', res.chunk_eval_tokens_per_s.toFixed(1)),
        row('optimized tokens/s ÷ same-shape rate', res.chunk_limit_fraction.toFixed(3)),
      ].join('\n') + '\n',
    );
  }
}

function addExtractCommand(program: Command): void {
  program
    .command('extract')
    .description('classify the entity pairs of each record with a local LLM (sentence level)')
    .argument('<in>', 'records (canonical JSONL or any importable format)')
    .option(
      '--model <path|uri|id>',
      'GGUF file, hf: URI, https URL or catalog id (default: $RELATION_LENS_MODEL, else the catalog default)',
    )
    .option(
      '--lora <file[:scale]>',
      'LoRA adapter GGUF with an optional scale (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .addOption(cliOption('template'))
    .option(
      '--relations <file>',
      'relation set (JSON or relation2id.txt); default: the one the input format defines',
    )
    .addOption(fromOption())
    .addOption(cliOption('mode'))
    .option(
      '--rag <index>',
      'retrieval index folder (relation-lens index build): add the k nearest training examples as demonstrations',
    )
    .addOption(cliOption('k', { description: 'demonstrations per prompt with --rag' }))
    .addOption(cliOption('scoreMargin'))
    .addOption(cliOption('answers'))
    .addOption(cliOption('direction'))
    .addOption(cliOption('parallel'))
    .addOption(cliOption('deterministic'))
    .addOption(cliOption('defaultAdapter'))
    .addOption(cliOption('threads'))
    .addOption(cliOption('contextSize'))
    .option('--limit <n>', 'only the first N records', (v) => positiveInt(v, '--limit'))
    .option(
      '--no-resume',
      'start over instead of resuming after the records already in the output (needs --force when the output exists)',
    )
    .option('--json', 'print the run summary as one JSON object on standard output')
    .option(
      '--retry-errors',
      'when resuming: extract again the records whose extraction had errors (an answer outside the set, a timeout); records curated since are kept',
    )
    .option(
      '--force',
      'with --no-resume: replace an existing output; also replace a file that is not a Relation Lens output',
    )
    .requiredOption('-o, --out <file>', 'output JSONL (written as records finish)')
    .action(async (input: string, opts: ExtractCliOptions, cmd: Command) => {
      await extractCommand(input, opts, cmd);
    });
  addServerOptions(program.commands.find((c) => c.name() === 'extract')!);
  addEmbeddingsOptions(program.commands.find((c) => c.name() === 'extract')!);
}

function addIndexCommand(program: Command): void {
  const index = program.command('index').description('retrieval indexes for RAG4RE');
  index
    .command('build')
    .description('index a labeled training file for retrieval')
    .argument('<train>', 'labeled records (canonical JSONL or any importable format)')
    .option(
      '--embedder <kind>',
      "bm25 (no model), llm (the --model LLM), gguf:PATH (an embedding model), or openai:ENDPOINT[#MODEL] (a server's /v1/embeddings, e.g. openai:http://127.0.0.1:8080/v1; queries are embedded by the same server, named again when the index is used)",
      'bm25',
    )
    .option(
      '--api-key-env <VAR>',
      'with --embedder openai:…: the environment variable that holds the API key (default: RELATION_LENS_API_KEY when set); sent only to that server',
    )
    .option('--model <path|uri|id>', 'the LLM for --embedder llm')
    .option('--relations <file>', 'relation set (its no-relation label)')
    .addOption(fromOption())
    .option('--threads <n>', 'CPU threads', (v) => positiveInt(v, '--threads'))
    .option('--force', 'replace an index that exists in the folder')
    .requiredOption('-o, --out <dir>', 'index folder')
    .action((train: string, opts: BuildCommandOptions) => buildCommand(train, opts));
}

function addBenchThroughputCommand(bench: Command): void {
  bench
    .command('throughput')
    .description(
      'naive (full prompt per example, free generation) vs optimized (prefix reuse + parallel sequences + label scoring)',
    )
    .option(
      '--model <path|uri|id>',
      'GGUF model (default: $RELATION_LENS_MODEL, else the catalog default)',
    )
    .option(
      '--data <file>',
      'sentences to classify (SemEval TXT or any importable format)',
      'samples/semeval-sample.txt',
    )
    .addOption(limitOption('examples of the optimized side', 'n', { default: 32 }))
    .option(
      '--naive-n <n>',
      'examples of the naive side (its cost per example is constant; default: --limit)',
      (v) => positiveInt(v, '--naive-n'),
    )
    .option(
      '--parallel <n>',
      'parallel sequences of the optimized side',
      (v) => positiveInt(v, '--parallel'),
      4,
    )
    .option('--threads <n>', 'CPU threads', (v) => positiveInt(v, '--threads'))
    .option('--template <name|file>', 'prompt template', 'default')
    .addOption(
      new Option('--mode <mode>', 'decoding of the optimized side')
        .choices(['score', 'generate'])
        .default('score'),
    )
    .option(
      '--score-margin <ratio>',
      'score mode: labels within this factor of the best are scored exactly (1 = only the argmax)',
      (v) => positiveNumber(v, '--score-margin'),
      1e4,
    )
    .addOption(
      new Option(
        '--answers <form>',
        'answers of the optimized side: relation names or one-token codes',
      )
        .choices(['names', 'codes'])
        .default('names'),
    )
    .option('--json', 'print one JSON object')
    .action((opts: ThroughputCommandOptions) => throughputCommand(opts));
}
