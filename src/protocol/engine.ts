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
import { RecordSchema, RelRecord, RelationSetSchema } from '../core/schema';
import { SERVER_FLAVORS } from '../core/ports';
import { optionSchema } from '../core/options';

export const EngineSettingsSchema = z
  .object({
    /** A GGUF path, hf: URI, https URL or catalog id. */
    model: z.string().min(1),
    loras: z.array(z.object({ path: z.string(), scale: z.number() }).strict()).default([]),
    threads: optionSchema('threads'),
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
      .object({ index: z.string(), k: optionSchema('k') })
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
    filter: z
      .union([z.literal('none'), z.literal('llm'), z.object({ file: z.string() }).strict()])
      .default('none'),
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
        layers: z.string().regex(/^(all|top-[1-9]\d*)$/),
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
  })
  .strict();

export type TrainLoraParams = z.infer<typeof TrainLoraParamsSchema>;

export interface TrainLoraResult {
  adapter: string;
  manifest: string;
  stopped: boolean;
  examples: number;
  steps: number;
  seconds: number;
  lossFirst?: number;
  lossLast?: number;
  devAccuracy?: number;
}

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

export interface ExtractedItem {
  /** The record as the pipeline returns it (predictions as `source: "model"`). */
  record: RelRecord;
  /** The pairs that were classified (their old undecided predictions are replaced). */
  pairs: Array<[string, string]>;
}

export interface ExtractResult {
  items: ExtractedItem[];
  engine: {
    backend: string;
    model: string;
    modelPath: string;
    adapters: Array<{ path: string; scale: number }>;
    threads: number;
  };
  /** Tokens evaluated per second over the job (prompt + generated). */
  tokensPerSecond: number;
  elapsedMs: number;
  errors: string[];
  /** Document jobs: the run report (candidate stage, prompts, tokens, alignment). */
  report?: Record<string, unknown>;
  /** Set by the extension when a cancelled or crashed job kept only its finished items. */
  partial?: boolean;
}

export interface PingResult {
  pid: number;
  node: string;
}

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
          item: z
            .object({ record: RecordSchema, pairs: z.array(z.tuple([z.string(), z.string()])) })
            .strict()
            .optional(),
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
