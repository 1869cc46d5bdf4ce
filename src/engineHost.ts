/**
 * The engine process: forked by the extension (src/vscode/engineClient.ts), it loads models with
 * node-llama-cpp and runs the same extraction runs as the CLI (src/node/jobs.ts and
 * core/pipelines/documentRunner.ts), answering requests of src/protocol/engine.ts over the IPC
 * channel. Engines are kept per (model, adapters, threads, sequences, context) and reused
 * between requests.
 */
import { DocumentInput, runDocumentExtraction } from './core/pipelines/documentRunner';
import { TrainingRetriever } from './core/retrieval/retriever';
import {
  RelRecord,
  RelationSet,
  candidatePairs,
  validateRecord,
  validateRelationSet,
} from './core/schema';
import { EnginePool } from './engine/llama';
import { ServerEngine } from './engine/server';
import { ClassifierEngine } from './core/ports';
import { effectiveMode } from './core/pipelines/sentence';
import { DEFAULT_MODEL_ID, resolveModel } from './engine/models';
import { documentOptions, runSentences, sentenceSpace } from './node/jobs';
import { EmbeddingsAccess, buildIndex, loadIndex } from './node/ragIndex';
import { loadRecords } from './node/load';
import { AdapterRun, adapterManifestPath, checkAdapters } from './node/adapters';
import { ShippedAdapter, defaultAdapterFor, describeShipped } from './node/shippedAdapters';
import {
  DocumentJob,
  EngineResponse,
  EngineSettings,
  ExtractResult,
  ExtractedItem,
  EngineResult,
  RequestSchema,
  SentenceJob,
  TrainLoraParams,
  TrainLoraResult,
} from './protocol/engine';
import { trainLoraJob } from './node/trainLora';
import { resolveTemplate } from './node/resources';
import { sumReports } from './core/pipelines/docReport';
import { z } from 'zod';
import { InputError } from './core/diagnostics';

const pool = new EnginePool(2);
const running = new Map<number, AbortController>();

function send(msg: EngineResponse): void {
  process.send?.(msg);
}

/** The zod schemas of the protocol give the shape; the schema's own checks (offsets, ids) run here. */
function checked(records: RelRecord[]): RelRecord[] {
  return records.map((v, i) => {
    const r = validateRecord(v);
    if (!r.ok) throw new Error(`record ${i} (${v.id}): ${r.problems.join('; ')}`);
    return r.value;
  });
}

function checkedSet(v: RelationSet): RelationSet {
  const r = validateRelationSet(v);
  if (!r.ok) throw new Error(`invalid relation set: ${r.problems.join('; ')}`);
  return r.value;
}

/** Serving engines by endpoint, model, flavor and key (an HTTP client each; nothing to free). */
const servers = new Map<string, Promise<ServerEngine>>();

function serverFor(
  s: NonNullable<EngineSettings['server']>,
  signal: AbortSignal,
): Promise<ServerEngine> {
  const key = JSON.stringify([s.endpoint, s.model, s.flavor, s.apiKey]);
  let e = servers.get(key);
  if (!e) {
    e = ServerEngine.open({
      endpoint: s.endpoint,
      model: s.model,
      flavor: s.flavor,
      apiKey: s.apiKey,
      signal,
    });
    e.catch(() => servers.delete(key));
    servers.set(key, e);
  }
  return e;
}

async function engineFor(
  s: EngineSettings,
  signal: AbortSignal,
  id: number,
  run: Omit<AdapterRun, 'modelPath'> & { rag?: boolean },
): Promise<{
  engine: ClassifierEngine;
  modelPath: string;
  warnings: string[];
  shipped?: ShippedAdapter;
}> {
  if (s.server) {
    if (s.loras.length)
      throw new Error(
        'LoRA adapters apply to the local engine; with a serving engine, load the adapter into the server (e.g. llama-server --lora FILE)',
      );
    const engine = await serverFor(s.server, signal);
    return { engine, modelPath: '', warnings: [] };
  }
  let last = 0;
  const modelPath = await resolveModel(s.model, {
    signal,
    onProgress: (done, total) => {
      const now = Date.now();
      if (now - last > 250) {
        last = now;
        send({ id, progress: { done, total, message: `downloading ${s.model}` } });
      }
    },
  });
  const warnings = await checkAdapters(s.loras, { modelPath, ...run });
  // No adapter set: the one the project ships for exactly this run, unless turned off.
  const { relationSet, template, answers, level } = run;
  const shipped =
    !s.loras.length && s.defaultAdapter && relationSet && template && answers && level
      ? await defaultAdapterFor({
          modelPath,
          relationSet,
          template,
          answers,
          level,
          rag: !!run.rag,
        })
      : undefined;
  const engine = await pool.get({
    modelPath,
    loras: shipped ? [{ path: shipped.path, scale: 1 }] : s.loras,
    threads: s.threads,
    threadPolicy: s.threadPolicy,
    parallel: s.parallel,
    contextSize: s.contextSize,
  });
  return { engine, modelPath, warnings, ...(shipped ? { shipped } : {}) };
}

/** The editor's embeddings access: its configured serving engine(s) and their keys, nothing else. */
function editorEmbeddings(
  servers: Array<{ endpoint: string; apiKey?: string } | undefined>,
): EmbeddingsAccess {
  const named = servers.filter((x): x is { endpoint: string; apiKey?: string } => !!x);
  return {
    named: named.map((x) => x.endpoint),
    keys: named,
    hint: 'If you trust it, set relationLens.server.endpoint to that server (and its key with "Relation Lens: Set API Key for the Server…"), or build the index again here.',
  };
}

async function extractSentences(
  id: number,
  s: EngineSettings,
  job: SentenceJob,
  signal: AbortSignal,
): Promise<ExtractResult> {
  const rs = checkedSet(job.relationSet);
  const recs = checked(job.records);
  const { space, direction } = sentenceSpace(rs, job.direction);
  const rag = job.rag
    ? await loadIndex(job.rag.index, {
        threads: s.threads,
        embeddings: editorEmbeddings([job.rag.server, s.server]),
      })
    : undefined;
  try {
    const retriever = rag ? new TrainingRetriever(rag.examples, rag.searcher, space) : undefined;
    const opened =
      job.mode !== 'knn'
        ? await engineFor(s, signal, id, {
            relationSet: rs,
            template: job.template,
            answers: job.answers,
            level: 'sentence',
            rag: !!job.rag,
          })
        : undefined;
    const engine = opened?.engine;
    const t0 = Date.now();
    const tok0 = engine?.evaluatedTokens ?? 0;
    const total = recs.reduce((n, r) => n + candidatePairs(r).length, 0);
    let done = 0;
    const items: ExtractedItem[] = [];
    const errors: string[] = [];
    const m = engine
      ? effectiveMode(engine.info, job.mode, job.answers === 'codes', space.answers.length)
      : { mode: job.mode };
    if (m.note) send({ log: { level: 'warn', message: m.note } });
    const run = runSentences(engine, recs, {
      relationSet: rs,
      template: job.template,
      mode: m.mode,
      direction,
      retriever,
      k: job.rag?.k,
      scoreMargin: job.scoreMargin,
      answerCodes: job.answers === 'codes',
      signal,
      model: s.server && engine ? engine.info.model : s.model,
    });
    for await (const r of run) {
      done += r.predictions.length;
      for (const p of r.predictions) if (p.error) errors.push(p.error);
      const item: ExtractedItem = {
        record: r.record,
        pairs: r.predictions.filter((p) => !p.error).map((p) => p.pair),
      };
      items.push(item);
      send({ id, progress: { done, total, item } });
    }
    const elapsedMs = Date.now() - t0;
    return {
      items,
      engine: {
        backend: engine?.info.backend ?? 'none (kNN vote)',
        model: s.model,
        modelPath: opened?.modelPath ?? '',
        adapters: engine?.info.adapters ?? [],
        ...(opened?.shipped ? { defaultAdapter: describeShipped(opened.shipped) } : {}),
        threads: engine?.info.threads ?? 0,
      },
      tokensPerSecond:
        engine && elapsedMs > 0 ? (1000 * (engine.evaluatedTokens - tok0)) / elapsedMs : 0,
      elapsedMs,
      errors: [...(opened?.warnings ?? []).map((w) => `warning: ${w}`), ...errors],
    };
  } finally {
    await rag?.dispose();
  }
}

async function trainLora(
  id: number,
  p: TrainLoraParams,
  signal: AbortSignal,
): Promise<TrainLoraResult> {
  const rs = checkedSet(p.relationSet);
  const r = await loadRecords(p.train);
  const modelPath = await resolveModel(p.engine.model, { signal });
  const { space, direction } = sentenceSpace(rs, p.direction);
  const held = new Set(p.holdOut ?? []);
  const heldOut = r.records.filter((x) => held.has(x.id));
  if (heldOut.length < held.size) {
    const missing = [...held].filter((id) => !heldOut.some((x) => x.id === id));
    throw new InputError(
      `held-out record(s) not in the file: ${missing.slice(0, 5).join(', ')}`,
      p.train,
    );
  }
  const doc = p.document ? await resolveTemplate('document', p.document.template) : undefined;
  if (doc?.evidence)
    throw new Error(
      `${doc.from} asks for evidence sentence numbers; train with lmrc or lmrc-rc (the training data has no evidence answers)`,
    );
  const { manifest } = await trainLoraJob({
    input: p.train,
    ...(doc && p.document
      ? {
          document: { none: doc.none, k: p.document.k, contextSize: p.engine.contextSize },
          template: doc.template,
        }
      : { template: p.template }),
    records: held.size ? r.records.filter((x) => !held.has(x.id)) : r.records,
    ...(heldOut.length
      ? { dev: { file: p.train, records: heldOut, heldOut: heldOut.map((x) => x.id) } }
      : {}),
    relationSet: rs,
    space,
    direction,
    answerCodes: p.answers === 'codes',
    modelPath,
    out: p.out,
    force: p.force,
    hyper: p.hyper,
    venv: p.venv,
    threads: p.threads,
    signal,
    log: (message) => send({ log: { level: 'info', message } }),
    onProgress: (e) =>
      send({
        id,
        progress: {
          done: e.step,
          total: e.steps,
          message: `loss ${e.loss_avg.toFixed(3)} · ${e.examples_per_s.toFixed(2)} examples/s · ${Math.round(e.eta_s)} s left`,
        },
      }),
  });
  const t = manifest.training;
  return {
    adapter: p.out,
    manifest: adapterManifestPath(p.out),
    stopped: t.stopped,
    examples: manifest.data.examples,
    steps: t.steps,
    seconds: t.seconds,
    lossFirst: t.lossCurve[0]?.[1],
    lossLast: t.lossCurve.at(-1)?.[1],
    devAccuracy: manifest.dev?.accuracy,
    heldOut: heldOut.map((x) => x.id),
  };
}

async function extractDocuments(
  id: number,
  s: EngineSettings,
  job: DocumentJob,
  signal: AbortSignal,
): Promise<ExtractResult> {
  const rs = checkedSet(job.relationSet);
  const inputs: DocumentInput[] = job.inputs.map((i) =>
    'record' in i ? { record: checked([i.record])[0]! } : i,
  );
  // The shipped document adapter applies when it was trained for exactly this run (answers are names).
  const { engine, modelPath, shipped } = await engineFor(s, signal, id, {
    relationSet: rs,
    level: 'document',
    template: { name: job.template },
    answers: 'names',
  });
  const options = await documentOptions({
    relationSet: rs,
    template: job.template,
    k: job.k,
    mode: job.mode,
    filter: typeof job.filter === 'string' ? job.filter : job.filter.file,
    threshold: job.threshold,
    model: s.server ? engine.info.model : s.model,
    signal,
  });
  const t0 = Date.now();
  const tok0 = engine.evaluatedTokens;
  const items: ExtractedItem[] = [];
  const reports = [];
  let done = 0;
  const onStage = (message: string) =>
    send({ id, progress: { done, total: inputs.length, message } });
  for await (const d of runDocumentExtraction(engine, inputs, options, { onStage })) {
    reports.push(d.report);
    const item: ExtractedItem = { record: d.record, pairs: candidatePairs(d.record) };
    items.push(item);
    send({ id, progress: { done: ++done, total: inputs.length, item } });
  }
  const elapsedMs = Date.now() - t0;
  const report = sumReports(reports);
  return {
    items,
    engine: {
      backend: engine.info.backend,
      model: s.model,
      modelPath,
      adapters: engine.info.adapters,
      ...(shipped ? { defaultAdapter: describeShipped(shipped) } : {}),
      threads: engine.info.threads,
    },
    tokensPerSecond: elapsedMs > 0 ? (1000 * (engine.evaluatedTokens - tok0)) / elapsedMs : 0,
    elapsedMs,
    errors: report.errors,
    report,
  };
}

/** Runs a request that `cancel` can stop: its AbortController is known while it runs. */
async function cancellable<T>(id: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  running.set(id, controller);
  try {
    return await fn(controller.signal);
  } finally {
    running.delete(id);
  }
}

async function resolveModelRequest(
  id: number,
  model: string,
  signal: AbortSignal,
): Promise<{ path: string }> {
  let last = 0;
  const file = await resolveModel(model, {
    signal,
    onProgress: (done, total) => {
      if (Date.now() - last > 250) {
        last = Date.now();
        send({ id, progress: { done, total, message: `downloading ${model}` } });
      }
    },
  });
  return { path: file };
}

async function buildIndexRequest(
  id: number,
  p: Extract<EngineRequestData, { method: 'buildIndex' }>['params'],
): Promise<EngineResult<'buildIndex'>> {
  const r = await loadRecords(p.train, { relations: p.relations });
  const model = p.embedder === 'llm' ? await resolveModel(p.model ?? DEFAULT_MODEL_ID) : undefined;
  const m = await buildIndex(r.records, r.relationSet?.noRelation, p.out, {
    embedder: p.embedder,
    model,
    source: p.train,
    threads: p.threads,
    keys: p.server ? [p.server] : [],
    onProgress: (done, total) => send({ id, progress: { done, total } }),
  });
  return { count: m.count, kind: m.kind, ...(m.dimension ? { dimension: m.dimension } : {}) };
}

type EngineRequestData = z.infer<typeof RequestSchema>;

/** The result of a (validated) request; its type is the protocol's result schema (the client checks it on arrival). */
async function dispatch(
  req: Exclude<EngineRequestData, { method: 'crash' }>,
): Promise<EngineResult<Exclude<EngineRequestData['method'], 'crash'>>> {
  switch (req.method) {
    case 'ping':
      return { pid: process.pid, node: process.version };
    case 'resolveModel':
      return cancellable(req.id, (signal) => resolveModelRequest(req.id, req.params.model, signal));
    case 'buildIndex':
      return buildIndexRequest(req.id, req.params);
    case 'trainLora':
      return cancellable(req.id, (signal) => trainLora(req.id, req.params, signal));
    case 'cancel':
      running.get(req.params.target)?.abort();
      return { cancelled: running.has(req.params.target) };
    case 'extract': {
      const { engine, job } = req.params;
      return cancellable(req.id, (signal) =>
        job.kind === 'sentence'
          ? extractSentences(req.id, engine, job, signal)
          : extractDocuments(req.id, engine, job, signal),
      );
    }
  }
}

async function handle(raw: unknown): Promise<void> {
  const parsed = RequestSchema.safeParse(raw);
  if (!parsed.success) {
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
    send({
      id,
      ok: false,
      error: {
        name: 'ProtocolError',
        message: `invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      },
    });
    return;
  }
  const req = parsed.data;
  if (req.method === 'crash') return void process.kill(process.pid, 'SIGKILL');
  try {
    send({ id: req.id, ok: true, result: await dispatch(req) });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ id: req.id, ok: false, error: { name: e.name, message: e.message } });
  }
}

if (require.main === module) {
  if (!process.send) {
    process.stderr.write(
      'relation-lens engine host: start me with an IPC channel (child_process.fork)\n',
    );
    process.exit(2);
  }
  process.on('message', (m) => void handle(m));
  process.on('disconnect', () => {
    void pool.dispose().finally(() => process.exit(0));
  });
  send({
    log: {
      level: 'info',
      message: `engine process ${process.pid} ready (node ${process.version})`,
    },
  });
}
