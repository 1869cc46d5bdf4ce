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
]);
export type PanelRequest = z.infer<typeof RequestSchema>;
export type PanelMethod = PanelRequest['method'];

export const PanelStateSchema = z
  .object({
    template: TemplateSchema,
    templates: z.array(z.string()),
    relationSet: RelationSetView.nullable(),
    relationSetFrom: z.string(),
    model: z.string(),
    loras: z.array(z.object({ path: z.string(), scale: z.number() }).strict()),
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

export interface EvalView {
  title: string;
  metric: string;
  precision: number;
  recall: number;
  f1: number;
  perRelation: Array<{
    label: string;
    precision: number;
    recall: number;
    f1: number;
    gold: number;
    predicted: number;
  }>;
  confusion: { labels: string[]; counts: number[][] } | null;
}

export type Results = {
  getState: PanelState;
  renderPrompt: { system?: string; user: string; tokensNote: string };
  /** null: the file existed with other content and the user kept it. */
  saveTemplate: { file: string } | null;
  saveRelationSet: { file: string } | null;
  useModel: { model: string; path?: string };
  pickModelFile: { model: string } | null;
  setLoras: Record<string, never>;
  pickLora: { loras: Array<{ path: string; scale: number }> } | null;
  setRag: Record<string, never>;
  evaluate: EvalView | null;
  compare: { a: EvalView; b: EvalView } | null;
};

export const HostMessageSchema = z.union([
  z
    .object({
      type: z.literal('response'),
      id: z.number().int(),
      ok: z.literal(true),
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
