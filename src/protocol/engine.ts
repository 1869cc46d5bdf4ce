/**
 * The protocol between the extension and its engine process (src/engineHost.ts). The engine
 * runs out of the extension host so that a native crash or an out-of-memory in llama.cpp costs
 * only that process. Messages travel over Node's IPC channel; every message is validated on
 * arrival (zod) and requests carry ids.
 *
 *   extension → engine   {id, method, params}
 *   engine → extension   {id, ok: true, result} | {id, ok: false, error} | {id, progress} | {log}
 */
import { z } from 'zod';
import { TemplateSchema } from '../core/prompts/template';
import { RecordSchema, RelationSetSchema } from '../core/schema';
import { SERVER_FLAVORS } from '../core/ports';
import { optionSchema } from '../core/options';
import type { sumReports } from '../core/pipelines/docReport';

export const EngineSettingsSchema = z
  .object({
    /** A GGUF path, hf: URI, https URL or catalog id. */
    model: z.string().min(1),
    loras: z.array(z.object({ path: z.string(), scale: z.number() }).strict()).default([]),
    /** Without loras: apply the shipped adapter trained for the run (src/node/shippedAdapters.ts). */
    defaultAdapter: optionSchema('defaultAdapter'),
    threads: optionSchema('threads'),
    /** Without threads: adaptive (default) or all math cores ("fixed", for deterministic runs). */
    threadPolicy: z.enum(['adaptive', 'fixed']).optional(),
    parallel: optionSchema('parallel'),
    contextSize: optionSchema('contextSize'),
    /** A serving engine instead of the in-process model (relationLens.backend = server). */
    server: z
      .object({
        endpoint: z.string().url(),
        model: z.string().min(1).optional(),
        flavor: z.enum(SERVER_FLAVORS).optional(),
        apiKey: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type EngineSettings = z.infer<typeof EngineSettingsSchema>;

export const SentenceJobSchema = z
  .object({
    kind: z.literal('sentence'),
    records: z.array(RecordSchema),
    relationSet: RelationSetSchema,
    template: TemplateSchema,
    mode: optionSchema('mode'),
    answers: optionSchema('answers'),
    scoreMargin: optionSchema('scoreMargin'),
    direction: optionSchema('direction'),
    rag: z
      .object({
        index: z.string(),
        k: optionSchema('k'),
        /**
         * The serving engine the user configured (relationLens.server.endpoint and its key),
         * whatever the backend: an index its /v1/embeddings built may embed the queries there.
         * An index naming any other server is refused.
         */
        server: z
          .object({ endpoint: z.string().url(), apiKey: z.string().min(1).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const DocumentJobSchema = z
  .object({
    kind: z.literal('document'),
    /** Records with entities, or raw texts whose entities the model proposes first. */
    inputs: z.array(
      z.union([
        z.object({ record: RecordSchema }).strict(),
        z.object({ id: z.string(), text: z.string() }).strict(),
      ]),
    ),
    relationSet: RelationSetSchema,
    /** A built-in document template (lmrc, lmrc-rc, lmrc-evidence) or a template file. */
    template: optionSchema('documentTemplate'),
    k: optionSchema('documentK'),
    mode: optionSchema('documentMode'),
    filter: z
      .union([
        z.literal('none'),
        z.literal('llm'),
        z.literal('auto'),
        z.object({ file: z.string() }).strict(),
      ])
      .default('auto'),
    threshold: optionSchema('threshold'),
  })
  .strict();

/** Fine-tuning: a LoRA adapter from a curated file on disk (train-lora's job). */
export const TrainLoraParamsSchema = z
  .object({
    train: z.string(),
    engine: EngineSettingsSchema,
    relationSet: RelationSetSchema,
    template: TemplateSchema,
    answers: optionSchema('answers'),
    direction: optionSchema('direction'),
    hyper: z
      .object({
        epochs: z.number().int().positive(),
        rank: z.number().int().positive(),
        alpha: z.number().positive(),
        layers: z.string().regex(/^(all|auto|top-[1-9]\d*)$/),
        lr: z.number().positive(),
        batchSize: z.number().int().positive(),
        maxExamples: z.number().int().positive().optional(),
        seed: z.number().int(),
      })
      .strict(),
    out: z.string().regex(/\.gguf$/i),
    force: z.boolean().default(false),
    venv: z.string(),
    threads: z.number().int().positive().optional(),
    /** Document level (LMRC): the document template (lmrc, lmrc-rc or a file) and pairs per prompt; `template` is not used. */
    document: z
      .object({ template: optionSchema('documentTemplate'), k: optionSchema('documentK') })
      .strict()
      .optional(),
    /** Ids of records of `train` kept out of training and used as the dev set (the before/after comparison's records). */
    holdOut: z.array(z.string()).optional(),
  })
  .strict();

export type TrainLoraParams = z.infer<typeof TrainLoraParamsSchema>;

export const TrainLoraResultSchema = z
  .object({
    adapter: z.string(),
    manifest: z.string(),
    stopped: z.boolean(),
    examples: z.number().int(),
    steps: z.number().int(),
    seconds: z.number(),
    lossFirst: z.number().optional(),
    lossLast: z.number().optional(),
    devAccuracy: z.number().optional(),
    /** Ids of the records held out of training. */
    heldOut: z.array(z.string()),
  })
  .strict();
export type TrainLoraResult = z.infer<typeof TrainLoraResultSchema>;

export type SentenceJob = z.infer<typeof SentenceJobSchema>;
export type DocumentJob = z.infer<typeof DocumentJobSchema>;

export const RequestSchema = z.discriminatedUnion('method', [
  z
    .object({
      id: z.number().int(),
      method: z.literal('extract'),
      params: z
        .object({
          engine: EngineSettingsSchema,
          job: z.discriminatedUnion('kind', [SentenceJobSchema, DocumentJobSchema]),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      id: z.number().int(),
      method: z.literal('resolveModel'),
      params: z.object({ model: z.string().min(1) }).strict(),
    })
    .strict(),
  z
    .object({
      id: z.number().int(),
      method: z.literal('buildIndex'),
      params: z
        .object({
          train: z.string(),
          out: z.string(),
          embedder: z.string(),
          model: z.string().optional(),
          relations: z.string().optional(),
          threads: z.number().int().positive().optional(),
          /** The editor's serving engine: its key goes only to its own endpoint's embeddings. */
          server: z
            .object({ endpoint: z.string().url(), apiKey: z.string().min(1).optional() })
            .strict()
            .optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({ id: z.number().int(), method: z.literal('trainLora'), params: TrainLoraParamsSchema })
    .strict(),
  z
    .object({
      id: z.number().int(),
      method: z.literal('cancel'),
      params: z.object({ target: z.number().int() }).strict(),
    })
    .strict(),
  z
    .object({
      id: z.number().int(),
      method: z.literal('ping'),
      params: z.object({}).strict().default({}),
    })
    .strict(),
  /** Test hook: makes the engine process die the way a native crash would. */
  z
    .object({
      id: z.number().int(),
      method: z.literal('crash'),
      params: z.object({}).strict().default({}),
    })
    .strict(),
]);
export type EngineRequest = z.input<typeof RequestSchema>;
export type EngineMethod = EngineRequest['method'];

const PairSchema = z.tuple([z.string(), z.string()]);

const count = z.number();
const counts = z.record(z.string(), z.number());

/** A document run's report summed over its documents (`sumReports`, core/pipelines/docReport.ts). */
export const DocReportTotalSchema = z
  .object({
    entities: count,
    pairsIn: count,
    pairsKept: count,
    goldPairs: count,
    goldPairsKept: count,
    filter: z.string(),
    threshold: z.number().nullable(),
    prompts: count,
    promptTokens: count,
    reusedTokens: count,
    generatedTokens: count,
    scoredSteps: count,
    filterPromptTokens: count,
    windows: count,
    outputLines: count,
    malformedLines: count,
    truncatedOutputs: count,
    triples: count,
    noneAnswers: count,
    relations: count,
    duplicates: count,
    outsidePrompt: count,
    evidenceGiven: count,
    evidenceIgnored: count,
    aligned: z.object({ entity: counts, relation: counts }).strict(),
    dropped: counts,
    dropExamples: z.array(
      z.object({ prompt: count, line: count, text: z.string(), reason: z.string() }).strict(),
    ),
    errors: z.array(z.string()),
    documents: count,
    goldPairRecall: z.number().nullable(),
    keptFraction: count,
  })
  .strict();
// The schema and the core's type are the same shape (checked both ways by the compiler).
type DocReportTotal = ReturnType<typeof sumReports>;
const _toSchema: z.infer<typeof DocReportTotalSchema> = {} as DocReportTotal;
const _fromSchema: DocReportTotal = {} as z.infer<typeof DocReportTotalSchema>;
void _toSchema;
void _fromSchema;

export const ExtractedItemSchema = z
  .object({
    /** The record as the pipeline returns it (predictions as `source: "model"`). */
    record: RecordSchema,
    /** The pairs that were classified (their old undecided predictions are replaced). */
    pairs: z.array(PairSchema),
  })
  .strict();
export type ExtractedItem = z.infer<typeof ExtractedItemSchema>;

export const ExtractResultSchema = z
  .object({
    items: z.array(ExtractedItemSchema),
    engine: z
      .object({
        backend: z.string(),
        model: z.string(),
        modelPath: z.string(),
        adapters: z.array(z.object({ path: z.string(), scale: z.number() }).strict()),
        /** The shipped adapter applied by default (relationLens.defaultAdapter), in words. */
        defaultAdapter: z.string().optional(),
        threads: z.number(),
      })
      .strict(),
    /** Tokens evaluated per second over the job (prompt + generated). */
    tokensPerSecond: z.number(),
    elapsedMs: z.number(),
    errors: z.array(z.string()),
    /** Document jobs: the run report (counts by stage, drops by reason; core/pipelines/docReport.ts). */
    report: DocReportTotalSchema.optional(),
    /** Set by the extension when a cancelled or crashed job kept only its finished items. */
    partial: z.boolean().optional(),
  })
  .strict();
export type ExtractResult = z.infer<typeof ExtractResultSchema>;

const PingResultSchema = z.object({ pid: z.number().int(), node: z.string() }).strict();
export type PingResult = z.infer<typeof PingResultSchema>;

/**
 * The result of every method, validated where it is sent (the engine process) and where it
 * arrives (the extension): with RequestSchema, the protocol's one map of method → params, result.
 */
export const RESULT_SCHEMAS = {
  extract: ExtractResultSchema,
  ping: PingResultSchema,
  resolveModel: z.object({ path: z.string() }).strict(),
  buildIndex: z
    .object({ count: z.number().int(), kind: z.string(), dimension: z.number().int().optional() })
    .strict(),
  trainLora: TrainLoraResultSchema,
  cancel: z.object({ cancelled: z.boolean() }).strict(),
  /** Never answered: the process dies. */
  crash: z.never(),
} satisfies Record<EngineMethod, z.ZodType>;
export type EngineResult<M extends EngineMethod> = z.infer<(typeof RESULT_SCHEMAS)[M]>;

/** Progress; `item` is a finished record (kept by the extension even if the job is cancelled later). */
export type Progress = { done: number; total: number; message?: string; item?: ExtractedItem };

export const ResponseSchema = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }).strict(),
  z
    .object({
      id: z.number().int(),
      ok: z.literal(false),
      error: z.object({ name: z.string(), message: z.string() }).strict(),
    })
    .strict(),
  z
    .object({
      id: z.number().int(),
      progress: z
        .object({
          done: z.number(),
          total: z.number(),
          message: z.string().optional(),
          item: ExtractedItemSchema.optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      log: z.object({ level: z.enum(['info', 'warn', 'error']), message: z.string() }).strict(),
    })
    .strict(),
]);
export type EngineResponse = z.infer<typeof ResponseSchema>;
