/**
 * The extraction options, declared once. Each declaration gives the value's type, default and
 * description, the CLI flag that sets it and the VS Code setting (under `relationLens.`) that
 * sets it in the editor; from it derive
 *  - the zod schema (`optionSchema`): the engine protocol validates with it, the editor parses
 *    its settings with it;
 *  - the CLI option (src/cli/common.ts `cliOption`): flag, help text, choices, default, parser;
 *  - the settings' JSON schema in package.json (`settingSchema`; scripts/sync-settings.ts
 *    writes it, test/unit/options.test.ts fails when package.json has drifted).
 * Options a surface does not have (a CLI-only threshold, an editor-only switch) say so by
 * leaving out `flag` or `setting`.
 */
import { z } from 'zod';

export type OptionType =
  | { type: 'integer'; minimum: number; maximum?: number }
  | { type: 'number'; minimum: number; maximum?: number }
  | { type: 'enum'; values: readonly [string, ...string[]] }
  | { type: 'string' }
  | { type: 'boolean' };

export interface OptionDecl {
  value: OptionType;
  /** Absent: the option is optional (unset means "decide for me"). */
  default?: string | number | boolean;
  /** The editor's default where it differs from the CLI's (said in the description). */
  settingDefault?: string | number | boolean;
  description: string;
  /** The CLI flag with its argument, e.g. `--mode <mode>`. */
  flag?: string;
  /**
   * Earlier names of the flag, still read (hidden from help, with a deprecation note), and the
   * attribute the command's code reads the value from (the earlier name's).
   */
  renamedFrom?: { flags: string[]; attribute: string };
  /** The setting key under `relationLens.` */
  setting?: string;
  /** A setting value that means "unset" (e.g. 0 threads: decided by the engine). */
  settingUnset?: number;
  /** The setting's text where it says something the CLI's does not (what `settingUnset` means). */
  settingDescription?: string;
}

const DECODE_MODES = ['score', 'generate', 'knn'] as const;

export const OPTIONS = {
  mode: {
    value: { type: 'enum', values: DECODE_MODES },
    default: 'score',
    description:
      'score: label log-probabilities; generate: grammar-constrained generation; knn: nearest-neighbour vote over the retrieval index (no LLM)',
    flag: '--mode <mode>',
    setting: 'mode',
  },
  answers: {
    value: { type: 'enum', values: ['names', 'codes'] },
    default: 'names',
    description:
      'names: the model answers with the relation name; codes: with a one-token code (A, B, …) listed next to each name — score mode then reads one distribution per example',
    flag: '--answers <form>',
    setting: 'answers',
  },
  direction: {
    value: { type: 'enum', values: ['label', 'pair'] },
    description:
      'label: answers carry (e1,e2)/(e2,e1) (SemEval); pair: the pair order is head → tail (default: label for SemEval-style sets, else pair)',
    flag: '--direction <how>',
  },
  template: {
    value: { type: 'string' },
    default: 'default',
    description:
      'Prompt template (sentence level): default, rag4re, cre-llm, cre-llm-short, or a template file',
    flag: '--template <name|file>',
    setting: 'template',
  },
  k: {
    value: { type: 'integer', minimum: 1 },
    default: 5,
    description: 'Retrieved demonstrations per prompt (with a retrieval index)',
    flag: '--demonstrations <n>',
    renamedFrom: { flags: ['--k'], attribute: 'k' },
    setting: 'k',
  },
  scoreMargin: {
    value: { type: 'number', minimum: 1 },
    default: 1e4,
    description:
      'score mode: labels within this factor of the best are scored exactly, the others keep an upper bound (1 = only what the argmax needs)',
    flag: '--score-margin <ratio>',
  },
  parallel: {
    value: { type: 'integer', minimum: 1 },
    default: 2,
    description: 'Parallel sequences of the engine',
    flag: '--parallel <n>',
    setting: 'parallel',
  },
  threads: {
    value: { type: 'integer', minimum: 1 },
    description:
      "CPU threads of the engine (default: adaptive — the machine's physical cores while no other process uses them, fewer while others keep cores busy; --deterministic keeps them all)",
    flag: '--threads <n>',
    setting: 'threads',
    settingUnset: 0,
    settingDescription:
      "CPU threads of the engine (0: the machine's physical cores; adaptive — fewer while other processes keep cores busy — when relationLens.deterministic is off)",
  },
  contextSize: {
    value: { type: 'integer', minimum: 256 },
    default: 4096,
    description: 'Context size per sequence (tokens)',
    flag: '--context-size <n>',
    setting: 'contextSize',
  },
  documentMode: {
    value: { type: 'enum', values: ['llm', 'encoder'] },
    default: 'llm',
    description:
      "Document level: llm (the LLM classifies the pairs the filter keeps) or encoder (the document encoder's own relations, no LLM: the filter must be an encoder, e.g. auto with Re-DocRED's relations)",
    flag: '--mode <mode>',
    setting: 'document.mode',
  },
  documentK: {
    value: { type: 'integer', minimum: 1 },
    default: 8,
    description: 'Entity pairs per prompt (document level)',
    flag: '--pairs-per-prompt <n>',
    renamedFrom: { flags: ['--k'], attribute: 'k' },
    setting: 'document.k',
  },
  documentDecoding: {
    value: { type: 'enum', values: ['auto', 'walk', 'grammar'] },
    default: 'auto',
    description:
      'Document answers: walk (the model is asked only where the allowed answer lines branch; forced names and brackets go in one batch), grammar (generated token by token under the grammar), auto (walk on the in-process engine without evidence, else grammar)',
    flag: '--decoding <how>',
  },
  documentRelationHints: {
    value: { type: 'integer', minimum: 0 },
    default: 0,
    description:
      "Each pair's answer limited to the document encoder's N likeliest relations (and None): the LLM chooses among the encoder's proposals (needs an encoder filter and the decoding walk; 0: every relation)",
    flag: '--relation-hints <n>',
  },
  documentTemplate: {
    value: { type: 'string' },
    default: 'lmrc',
    description:
      'Document prompt: lmrc (answers may be None), lmrc-rc (no None), lmrc-evidence (None, and evidence sentence numbers), or a template file',
    flag: '--template <name|file>',
    setting: 'document.template',
  },
  documentFilter: {
    value: { type: 'string' },
    default: 'auto',
    description:
      "Candidate stage of the document pipeline: auto (the shipped document encoder, models/redocred-filter, when the relation set is Re-DocRED's; else none), none (all pairs), llm (a yes/no question per pair), a filter file made by train-filter, or an encoder folder made by train-encoder (its mentions also give plain text its entities)",
    flag: '--filter <auto|none|llm|filter.json|encoder-dir>',
    setting: 'document.filter',
  },
  deterministic: {
    value: { type: 'boolean' },
    default: false,
    settingDefault: true,
    description:
      'The same labels and scores on every run: one sequence, so batches never mix examples (slower; on by default in the editor)',
    flag: '--deterministic',
    setting: 'deterministic',
    settingDescription:
      'The same labels and scores on every run: one sequence, so batches never mix examples (slower; for comparable runs, as the CLI does with --deterministic)',
  },
  defaultAdapter: {
    value: { type: 'boolean' },
    default: true,
    description:
      'Do not apply the adapter Relation Lens ships for this relation set (models/): the base model alone',
    flag: '--no-default-adapter',
    setting: 'defaultAdapter',
    settingDescription:
      'Apply the LoRA adapter Relation Lens ships in models/ when a run is what it was trained for (its base model, relation set, template and answer form) and relationLens.loras is empty. The status bar and the run report name it.',
  },
  threshold: {
    value: { type: 'number', minimum: 0, maximum: 1 },
    description:
      "Keep-threshold of the candidate filter (default: the filter file's, or 0.5 for llm)",
    flag: '--threshold <p>',
  },
  entityFuzzy: {
    value: { type: 'number', minimum: 0, maximum: 100 },
    default: 88,
    description:
      'fuzzy threshold for generated entity names (fuzzball WRatio; 0: exact and normalized only)',
    flag: '--entity-fuzzy <0-100>',
  },
  relationFuzzy: {
    value: { type: 'number', minimum: 0, maximum: 100 },
    default: 90,
    description: 'fuzzy threshold for near-miss relation names (fuzzball ratio; 0: off)',
    flag: '--relation-fuzzy <0-100>',
  },
  theta: {
    value: { type: 'number', minimum: 0, maximum: 1 },
    default: 0.55,
    description: 'cosine similarity needed to map an out-of-set relation name',
    flag: '--theta <cos>',
  },
} as const satisfies Record<string, OptionDecl>;

export type OptionName = keyof typeof OPTIONS;

type ValueOf<D extends OptionDecl> = D['value'] extends {
  type: 'enum';
  values: readonly (infer V)[];
}
  ? V
  : D['value'] extends { type: 'string' }
    ? string
    : D['value'] extends { type: 'boolean' }
      ? boolean
      : number;
/** The value type of an option (set, or its default). */
export type OptionValue<N extends OptionName> = ValueOf<(typeof OPTIONS)[N]>;

function baseSchema(t: OptionType): z.ZodType {
  switch (t.type) {
    case 'enum':
      return z.enum(t.values as [string, ...string[]]);
    case 'string':
      return z.string();
    case 'boolean':
      return z.boolean();
    case 'integer': {
      const n = z.number().int().min(t.minimum);
      return t.maximum === undefined ? n : n.max(t.maximum);
    }
    case 'number': {
      const n = z.number().min(t.minimum);
      return t.maximum === undefined ? n : n.max(t.maximum);
    }
  }
}

/** An option's zod schema: with a default (never undefined after parsing) or optional. */
export type OptionSchema<N extends OptionName> = (typeof OPTIONS)[N] extends { default: unknown }
  ? z.ZodDefault<z.ZodType<OptionValue<N>, OptionValue<N>>>
  : z.ZodOptional<z.ZodType<OptionValue<N>, OptionValue<N>>>;

/** The zod schema of an option: its type, with the default when it has one, else optional. */
export function optionSchema<N extends OptionName>(name: N): OptionSchema<N> {
  const d: OptionDecl = OPTIONS[name];
  const s = baseSchema(d.value);
  return (
    d.default === undefined ? s.optional() : s.default(d.default as never)
  ) as OptionSchema<N>;
}

/** Checks one value (a CLI argument, a setting) against an option's type; the message names what is wrong. */
export function checkOptionValue(
  name: OptionName,
  v: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const t: OptionType = OPTIONS[name].value;
  const r = baseSchema(t).safeParse(v);
  if (r.success) return { ok: true, value: r.data };
  switch (t.type) {
    case 'integer':
      return {
        ok: false,
        message:
          t.minimum === 1 && t.maximum === undefined
            ? 'must be a positive integer'
            : `must be an integer ${range(t)}`,
      };
    case 'number':
      return {
        ok: false,
        message:
          t.minimum === 1 && t.maximum === undefined
            ? 'must be a number ≥ 1'
            : `must be a number ${range(t)}`,
      };
    case 'enum':
      return { ok: false, message: `must be one of ${t.values.join(', ')}` };
    case 'string':
      return { ok: false, message: 'must be a string' };
    case 'boolean':
      return { ok: false, message: 'must be true or false' };
  }
}

function range(t: { minimum: number; maximum?: number }): string {
  return t.maximum === undefined ? `≥ ${t.minimum}` : `between ${t.minimum} and ${t.maximum}`;
}

/** The JSON schema of an option's setting (package.json `contributes.configuration`). */
export function settingSchema(name: OptionName): Record<string, unknown> {
  const d: OptionDecl = OPTIONS[name];
  const t = d.value;
  const out: Record<string, unknown> = {};
  if (t.type === 'enum') Object.assign(out, { type: 'string', enum: [...t.values] });
  else if (t.type === 'string' || t.type === 'boolean') out['type'] = t.type;
  else {
    out['type'] = t.type;
    out['minimum'] = d.settingUnset !== undefined ? Math.min(d.settingUnset, t.minimum) : t.minimum;
    if (t.maximum !== undefined) out['maximum'] = t.maximum;
  }
  out['default'] = d.settingDefault ?? d.default ?? d.settingUnset;
  out['description'] = d.settingDescription ?? d.description;
  return out;
}

/** The options that are editor settings, by setting key. */
export function settingOptions(): Array<[OptionName, string]> {
  return (Object.entries(OPTIONS) as Array<[OptionName, OptionDecl]>)
    .filter(([, d]) => d.setting)
    .map(([n, d]) => [n, d.setting!]);
}
