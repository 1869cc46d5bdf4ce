/**
 * The engine process: forked by the extension (src/vscode/engineClient.ts), it loads models with
 * node-llama-cpp and runs the core pipelines, answering requests of src/protocol/engine.ts over
 * the IPC channel. Engines are kept per (model, adapters, threads, sequences, context) and
 * reused between requests.
 */
import { RelationAligner } from './core/pipelines/align';
import { DOC_TEMPLATES, DocumentOptions, NONE_ANSWER, PairFilterSpec, extractDocument, sumReports } from './core/pipelines/document';
import { proposeEntities } from './core/pipelines/entities';
import { parsePairFilter } from './core/pipelines/pairFilter';
import { runSentenceExtraction } from './core/pipelines/runner';
import { DecodeMode, DirectionMode, answerSpace, defaultDirection } from './core/pipelines/sentence';
import { PromptTemplate } from './core/prompts/template';
import { TrainingRetriever } from './core/retrieval/retriever';
import { RelRecord, RelationSet, RelationSetSchema, candidatePairs, validateRecord } from './core/schema';
import { EnginePool, LlamaEngine } from './engine/llama';
import { DEFAULT_MODEL_ID, resolveModel } from './engine/models';
import { readText } from './node/files';
import { buildIndex, loadIndex } from './node/ragIndex';
import { loadRecords } from './node/load';
import { DocumentJob, EngineResponse, EngineSettings, ExtractResult, ExtractedItem, RequestSchema, SentenceJob } from './protocol/engine';

const pool = new EnginePool(2);
const running = new Map<number, AbortController>();

function send(msg: EngineResponse): void {
  process.send?.(msg);
}

function records(values: Array<Record<string, unknown>>): RelRecord[] {
  return values.map((v, i) => {
    const r = validateRecord(v);
    if (!r.ok) throw new Error(`record ${i}: ${r.problems.join('; ')}`);
    return r.value;
  });
}

function relationSet(v: Record<string, unknown>): RelationSet {
  const p = RelationSetSchema.safeParse(v);
  if (!p.success) throw new Error(`invalid relation set: ${p.error.issues.map((i) => i.message).join('; ')}`);
  return p.data;
}

async function engineFor(s: EngineSettings, signal: AbortSignal, id: number): Promise<{ engine: LlamaEngine; modelPath: string }> {
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
  const engine = await pool.get({ modelPath, loras: s.loras, threads: s.threads, parallel: s.parallel, contextSize: s.contextSize });
  return { engine, modelPath };
}

async function extractSentences(id: number, s: EngineSettings, job: SentenceJob, signal: AbortSignal): Promise<ExtractResult> {
  const rs = relationSet(job.relationSet);
  const recs = records(job.records);
  const direction: DirectionMode = job.direction ?? defaultDirection(rs);
  const space = answerSpace(rs, direction);
  const rag = job.rag ? await loadIndex(job.rag.index, { threads: s.threads }) : undefined;
  try {
    const retriever = rag ? new TrainingRetriever(rag.examples, rag.searcher, space) : undefined;
    const needsModel = job.mode !== 'knn';
    const opened = needsModel ? await engineFor(s, signal, id) : undefined;
    const engine = opened?.engine;
    const t0 = Date.now();
    const tok0 = engine?.evaluatedTokens ?? 0;
    const total = recs.reduce((n, r) => n + candidatePairs(r).length, 0);
    let done = 0;
    const items: ExtractedItem[] = [];
    const errors: string[] = [];
    for await (const r of runSentenceExtraction(engine, recs, space, {
      relationSet: rs,
      template: job.template as unknown as PromptTemplate,
      mode: job.mode as DecodeMode,
      direction,
      retriever,
      k: job.rag?.k,
      answerCodes: job.answers === 'codes',
      signal,
      keepTop: 3,
      inFlight: engine?.info.parallel ?? 4,
      model: s.model,
    })) {
      done += r.predictions.length;
      for (const p of r.predictions) if (p.error) errors.push(p.error);
      // The hover shows which adapters produced a prediction.
      const adapters = engine?.info.adapters ?? [];
      if (adapters.length) for (const rel of r.record.relations) if (rel.source === 'model') rel.meta = { ...(rel.meta ?? {}), adapters };
      const item: ExtractedItem = { record: r.record as unknown as Record<string, unknown>, pairs: r.predictions.filter((p) => !p.error).map((p) => p.pair) };
      items.push(item);
      send({ id, progress: { done, total, item } });
    }
    const elapsedMs = Date.now() - t0;
    return {
      items,
      engine: { backend: engine?.info.backend ?? 'none (kNN vote)', model: s.model, modelPath: opened?.modelPath ?? '', adapters: engine?.info.adapters ?? [], threads: engine?.info.threads ?? 0 },
      tokensPerSecond: engine && elapsedMs > 0 ? (1000 * (engine.evaluatedTokens - tok0)) / elapsedMs : 0,
      elapsedMs,
      errors,
    };
  } finally {
    await rag?.dispose();
  }
}

async function extractDocuments(id: number, s: EngineSettings, job: DocumentJob, signal: AbortSignal): Promise<ExtractResult> {
  const rs = relationSet(job.relationSet);
  const builtin = DOC_TEMPLATES[job.template];
  if (!builtin) throw new Error(`no document template named "${job.template}" (built-in: ${Object.keys(DOC_TEMPLATES).join(', ')})`);
  let filter: PairFilterSpec;
  if (job.filter === 'none') filter = { kind: 'none' };
  else if (job.filter === 'llm') filter = { kind: 'llm', threshold: job.threshold };
  else filter = { kind: 'model', model: parsePairFilter((await readText(job.filter.file)).text, job.filter.file), threshold: job.threshold };
  const { engine, modelPath } = await engineFor(s, signal, id);
  const options: DocumentOptions = {
    relationSet: rs,
    template: builtin.template,
    none: builtin.none,
    evidence: builtin.evidence,
    k: job.k,
    filter,
    aligner: new RelationAligner(
      rs.labels.map((l) => l.name),
      { noneWords: rs.noRelation ? [NONE_ANSWER, rs.noRelation] : undefined },
    ),
    model: s.model,
    signal,
  };
  const t0 = Date.now();
  const tok0 = engine.evaluatedTokens;
  const items: ExtractedItem[] = [];
  const reports = [];
  let done = 0;
  for (const input of job.inputs) {
    let record: RelRecord;
    if ('record' in input) record = records([input.record])[0]!;
    else {
      send({ id, progress: { done, total: job.inputs.length, message: 'finding entities' } });
      record = (await proposeEntities(engine, input.id, input.text, { types: rs.entityTypes, signal })).record;
    }
    const r = await extractDocument(engine, record, options);
    reports.push(r.report);
    const item: ExtractedItem = { record: r.record as unknown as Record<string, unknown>, pairs: candidatePairs(record) };
    items.push(item);
    send({ id, progress: { done: ++done, total: job.inputs.length, item } });
  }
  const elapsedMs = Date.now() - t0;
  const report = sumReports(reports);
  return {
    items,
    engine: { backend: engine.info.backend, model: s.model, modelPath, adapters: engine.info.adapters, threads: engine.info.threads },
    tokensPerSecond: elapsedMs > 0 ? (1000 * (engine.evaluatedTokens - tok0)) / elapsedMs : 0,
    elapsedMs,
    errors: report.errors,
    report: report as unknown as Record<string, unknown>,
  };
}

async function handle(raw: unknown): Promise<void> {
  const parsed = RequestSchema.safeParse(raw);
  if (!parsed.success) {
    const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
    send({ id, ok: false, error: { name: 'ProtocolError', message: `invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` } });
    return;
  }
  const req = parsed.data;
  try {
    switch (req.method) {
      case 'ping':
        return send({ id: req.id, ok: true, result: { pid: process.pid, node: process.version } });
      case 'crash':
        process.kill(process.pid, 'SIGKILL');
        return;
      case 'resolveModel': {
        const controller = new AbortController();
        running.set(req.id, controller);
        try {
          let last = 0;
          const file = await resolveModel(req.params.model, {
            signal: controller.signal,
            onProgress: (done, total) => {
              if (Date.now() - last > 250) {
                last = Date.now();
                send({ id: req.id, progress: { done, total, message: `downloading ${req.params.model}` } });
              }
            },
          });
          return send({ id: req.id, ok: true, result: { path: file } });
        } finally {
          running.delete(req.id);
        }
      }
      case 'buildIndex': {
        const p = req.params;
        const r = await loadRecords(p.train, { relations: p.relations });
        const model = p.embedder === 'llm' ? await resolveModel(p.model ?? DEFAULT_MODEL_ID) : undefined;
        const m = await buildIndex(r.records, r.relationSet?.noRelation, p.out, { embedder: p.embedder, model, source: p.train, threads: p.threads, onProgress: (done, total) => send({ id: req.id, progress: { done, total } }) });
        return send({ id: req.id, ok: true, result: { count: m.count, kind: m.kind, ...(m.dimension ? { dimension: m.dimension } : {}) } });
      }
      case 'cancel':
        running.get(req.params.target)?.abort();
        return send({ id: req.id, ok: true, result: { cancelled: running.has(req.params.target) } });
      case 'extract': {
        const controller = new AbortController();
        running.set(req.id, controller);
        try {
          const { engine, job } = req.params;
          const result = job.kind === 'sentence' ? await extractSentences(req.id, engine, job, controller.signal) : await extractDocuments(req.id, engine, job, controller.signal);
          return send({ id: req.id, ok: true, result });
        } finally {
          running.delete(req.id);
        }
      }
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ id: req.id, ok: false, error: { name: e.name, message: e.message } });
  }
}

if (require.main === module) {
  if (!process.send) {
    process.stderr.write('relation-lens engine host: start me with an IPC channel (child_process.fork)\n');
    process.exit(2);
  }
  process.on('message', (m) => void handle(m));
  process.on('disconnect', () => {
    void pool.dispose().finally(() => process.exit(0));
  });
  send({ log: { level: 'info', message: `engine process ${process.pid} ready (node ${process.version})` } });
}
