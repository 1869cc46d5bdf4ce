/**
 * The one protocol between the panel's webview (webview/main.ts) and the extension
 * (src/vscode/panel.ts). The webview sends requests with ids; the host answers each id once and
 * pushes state. Both sides validate what they receive (zod). Shared by both bundles.
 */
import { z } from 'zod';
import { TemplateSchema } from '../core/prompts/template';

const LabelSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    headTypes: z.array(z.string()).optional(),
    tailTypes: z.array(z.string()).optional(),
  })
  .passthrough();
const RelationSetView = z
  .object({
    name: z.string(),
    noRelation: z.string().nullable(),
    directed: z.boolean().optional(),
    labels: z.array(LabelSchema),
  })
  .passthrough();

export const RequestSchema = z.discriminatedUnion('method', [
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('getState'),
      params: z.object({}).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('renderPrompt'),
      params: z.object({ template: TemplateSchema }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('saveTemplate'),
      params: z.object({ template: TemplateSchema }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('saveRelationSet'),
      params: z.object({ relationSet: RelationSetView }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('useModel'),
      params: z.object({ model: z.string().min(1), download: z.boolean().optional() }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('pickModelFile'),
      params: z.object({}).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('setLoras'),
      params: z
        .object({
          loras: z.array(z.object({ path: z.string().min(1), scale: z.number() }).strict()),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('pickLora'),
      params: z.object({}).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('setRag'),
      params: z.object({ index: z.string(), k: z.number().int().positive() }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('evaluate'),
      params: z.object({}).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('compare'),
      params: z.object({}).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('agreement'),
      /** Asks for two or more curated files (a dialog) and compares them. */
      params: z.object({}).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('openRecords'),
      /** The record view of a file the panel evaluated, showing only these records. */
      params: z.object({ file: z.string(), ids: z.array(z.string()), title: z.string() }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.literal('compareAdapters'),
      /** Two adapters of the panel's list (null: the base model alone), on the current record file. */
      params: z.object({ a: z.string().nullable(), b: z.string().nullable() }).strict(),
    })
    .strict(),
]);
export type PanelRequest = z.infer<typeof RequestSchema>;
export type PanelMethod = PanelRequest['method'];

/** An adapter of the panel's list, with what its manifest says (null: no manifest beside it). */
const AdapterViewSchema = z
  .object({
    path: z.string(),
    /** Its scale when it is in relationLens.loras (used for extraction), else null. */
    scale: z.number().nullable(),
    manifest: z
      .object({
        base: z.string(),
        trainedOn: z.string(),
        examples: z.number(),
        relationSet: z.string(),
        answers: z.string(),
        created: z.string(),
        stopped: z.boolean(),
        /** Answer accuracy on the dev (held-out) records. */
        devAccuracy: z.number().nullable(),
        devExamples: z.number(),
        heldOut: z.number(),
      })
      .strict()
      .nullable(),
    /** Why the manifest could not be read. */
    problem: z.string().optional(),
  })
  .strict();
export type AdapterView = z.infer<typeof AdapterViewSchema>;

const EvalViewSchema = z
  .object({
    title: z.string(),
    metric: z.string(),
    precision: z.number(),
    recall: z.number(),
    f1: z.number(),
    perRelation: z.array(
      z
        .object({
          label: z.string(),
          precision: z.number(),
          recall: z.number(),
          f1: z.number(),
          gold: z.number(),
          predicted: z.number(),
        })
        .strict(),
    ),
    confusion: z
      .object({ labels: z.array(z.string()), counts: z.array(z.array(z.number())) })
      .strict()
      .nullable(),
    /**
     * The records file scored, and the record ids behind each confusion cell ([gold][predicted])
     * and each relation: a click opens the record view on just those (openRecords).
     */
    file: z.string().optional(),
    members: z
      .object({
        cells: z.array(z.array(z.array(z.string()))),
        perRelation: z.record(z.string(), z.array(z.string())),
      })
      .strict()
      .optional(),
  })
  .strict();
export type EvalView = z.infer<typeof EvalViewSchema>;

/** Inter-annotator agreement of two or more curated files (relation-lens agreement, in the panel). */
const AgreementViewSchema = z
  .object({
    annotators: z.array(z.string()),
    kappaKind: z.enum(['cohen', 'fleiss']),
    kappa: z.number(),
    observed: z.number(),
    expected: z.number(),
    records: z.number().int(),
    pairs: z.number().int(),
    pendingPairs: z.number().int(),
    pairwise: z.array(
      z
        .object({
          reference: z.string(),
          other: z.string(),
          precision: z.number(),
          recall: z.number(),
          f1: z.number(),
        })
        .strict(),
    ),
    /** Per relation, the first two annotators: each one's relations, those both gave, F1. */
    perRelation: z.array(
      z
        .object({
          label: z.string(),
          reference: z.number().int(),
          other: z.number().int(),
          both: z.number().int(),
          f1: z.number(),
        })
        .strict(),
    ),
    /** The records they disagree on, in the first file (openRecords opens them there). */
    disagreements: z.array(z.string()),
    file: z.string(),
  })
  .strict();
export type AgreementView = z.infer<typeof AgreementViewSchema>;

/** Two runs on the same records, side by side (before/after training, or an A/B of adapters). */
const ComparisonSchema = z
  .object({ title: z.string(), note: z.string(), a: EvalViewSchema, b: EvalViewSchema })
  .strict();
export type Comparison = z.infer<typeof ComparisonSchema>;

export const PanelStateSchema = z
  .object({
    template: TemplateSchema,
    templates: z.array(z.string()),
    relationSet: RelationSetView.nullable(),
    relationSetFrom: z.string(),
    model: z.string(),
    loras: z.array(z.object({ path: z.string(), scale: z.number() }).strict()),
    /** The adapters in use and those trained or added in this workspace. */
    adapters: z.array(AdapterViewSchema),
    /** The last comparison the host ran (shown in the Evaluate tab). */
    comparison: ComparisonSchema.nullable(),
    catalog: z.array(
      z
        .object({
          id: z.string(),
          parameters: z.string(),
          size: z.number(),
          recommended: z.string(),
          hardware: z.string(),
        })
        .strict(),
    ),
    rag: z.object({ index: z.string(), k: z.number() }).strict(),
    /** The record the prompt preview uses. */
    record: z.object({ id: z.string(), file: z.string(), line: z.number() }).strict().nullable(),
    trusted: z.boolean(),
  })
  .strict();
export type PanelState = z.infer<typeof PanelStateSchema>;

/**
 * The result of every panel method: the webview validates each answer against its method's schema
 * (as the engine protocol does), so the protocol is one map of method → params (RequestSchema),
 * result (here).
 */
const SavedFileSchema = z.object({ file: z.string() }).strict().nullable();
const NothingSchema = z.object({}).strict();
export const PANEL_RESULT_SCHEMAS = {
  getState: PanelStateSchema,
  renderPrompt: z
    .object({ system: z.string().optional(), user: z.string(), tokensNote: z.string() })
    .strict(),
  /** null: the file existed with other content and the user kept it. */
  saveTemplate: SavedFileSchema,
  saveRelationSet: SavedFileSchema,
  useModel: z.object({ model: z.string(), path: z.string().optional() }).strict(),
  pickModelFile: z.object({ model: z.string() }).strict().nullable(),
  setLoras: NothingSchema,
  pickLora: z
    .object({ loras: z.array(z.object({ path: z.string(), scale: z.number() }).strict()) })
    .strict()
    .nullable(),
  setRag: NothingSchema,
  evaluate: EvalViewSchema.nullable(),
  compare: z.object({ a: EvalViewSchema, b: EvalViewSchema }).strict().nullable(),
  compareAdapters: ComparisonSchema.nullable(),
  openRecords: NothingSchema,
  agreement: AgreementViewSchema.nullable(),
} satisfies Record<PanelMethod, z.ZodType>;
export type Results = { [M in PanelMethod]: z.infer<(typeof PANEL_RESULT_SCHEMAS)[M]> };

export const HostMessageSchema = z.union([
  z
    .object({
      type: z.literal('response'),
      id: z.number().int(),
      ok: z.literal(true),
      /** Checked against PANEL_RESULT_SCHEMAS[method] by the webview, which knows the method. */
      result: z.unknown(),
    })
    .strict(),
  z
    .object({
      type: z.literal('response'),
      id: z.number().int(),
      ok: z.literal(false),
      error: z.string(),
    })
    .strict(),
  z.object({ type: z.literal('state'), state: PanelStateSchema }).strict(),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;
