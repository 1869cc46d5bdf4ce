/**
 * Prompt templates. A template has up to four sections, each a Mustache template
 * (https://mustache.github.io/mustache.5.html; nothing is HTML-escaped):
 *
 *   ### system        optional system message
 *   ### instruction   the task and the relation list: keep it free of per-example fields so that it
 *                     is byte-identical for every example (the engine reuses its KV cache)
 *   ### input         the example: sentence, head, tail, retrieved examples
 *   ### output        the expected answer (training data) — usually {{label}}
 *
 * Variables: text, sentence (text with <e1>…</e1>/<e2>…</e2> markers when `markEntities` is on),
 * marked_sentence, head, tail, head_type, tail_type, label, no_relation, relations (list of
 * {name, description}), relation_names (comma-separated), examples (list of {sentence, head,
 * tail, label}), id.
 *
 * A template file is either this sectioned text or JSON {"name", "system"?, "instruction", "input", "output"}.
 */
import Mustache from 'mustache';
import { z } from 'zod';
import type { ChatPrompt } from '../ports';

/** A prompt template as data (the engine and webview protocols carry it in this shape). */
export const TemplateSchema = z
  .object({
    name: z.string().min(1),
    system: z.string().optional(),
    instruction: z.string(),
    input: z.string(),
    output: z.string(),
    /** Mark head/tail in `sentence` with <e1>…</e1> and <e2>…</e2>. */
    markEntities: z.boolean().optional(),
  })
  .strict();
export type PromptTemplate = z.infer<typeof TemplateSchema>;

export interface PromptView {
  id: string;
  text: string;
  sentence: string;
  marked_sentence: string;
  head: string;
  tail: string;
  head_type: string;
  tail_type: string;
  label: string;
  no_relation: string;
  relations: Array<{ name: string; description: string }>;
  relation_names: string;
  examples: Array<{ sentence: string; head: string; tail: string; label: string }>;
}

const SECTIONS = ['system', 'instruction', 'input', 'output'] as const;
type Section = (typeof SECTIONS)[number];

/** Parses a template file (sectioned text or JSON). Errors name the line. */
export function parseTemplate(source: string, name: string): PromptTemplate {
  const trimmed = source.trimStart();
  if (trimmed.startsWith('{')) {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(source) as Record<string, unknown>;
    } catch (e) {
      throw new Error(
        `${name}: invalid JSON template: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    for (const k of ['instruction', 'input'] as const)
      if (typeof v[k] !== 'string')
        throw new Error(`${name}: template field "${k}" must be a string`);
    const t: PromptTemplate = {
      name: typeof v['name'] === 'string' ? v['name'] : name,
      instruction: v['instruction'] as string,
      input: v['input'] as string,
      output: typeof v['output'] === 'string' ? v['output'] : '{{label}}',
      markEntities: v['markEntities'] === true,
    };
    if (typeof v['system'] === 'string') t.system = v['system'];
    return validateTemplate(t, name);
  }
  const parts: Partial<Record<Section, string[]>> = {};
  let current: Section | undefined;
  let markEntities = false;
  source.split(/\r?\n/).forEach((line, i) => {
    const m = /^###\s*(\w+)\s*$/.exec(line);
    if (m) {
      const s = m[1]!.toLowerCase();
      if (!(SECTIONS as readonly string[]).includes(s))
        throw new Error(
          `${name}:${i + 1}: unknown section "### ${m[1]}" (expected one of: ${SECTIONS.join(', ')})`,
        );
      if (parts[s as Section])
        throw new Error(`${name}:${i + 1}: section "### ${s}" appears twice`);
      current = s as Section;
      parts[current] = [];
      return;
    }
    const opt = /^#!\s*markEntities\s*$/.exec(line);
    if (opt && !current) {
      markEntities = true;
      return;
    }
    if (!current) {
      if (line.trim() !== '')
        throw new Error(`${name}:${i + 1}: text before the first "### section" line`);
      return;
    }
    parts[current]!.push(line);
  });
  const get = (s: Section) => parts[s]?.join('\n').replace(/\n+$/, '');
  const instruction = get('instruction');
  const input = get('input');
  if (instruction === undefined) throw new Error(`${name}: missing "### instruction" section`);
  if (input === undefined) throw new Error(`${name}: missing "### input" section`);
  const t: PromptTemplate = {
    name: name.replace(/^.*[\\/]/, '').replace(/\.[^.]+$/, ''),
    instruction,
    input,
    output: get('output') ?? '{{label}}',
    markEntities,
  };
  const system = get('system');
  if (system !== undefined) t.system = system;
  return validateTemplate(t, name);
}

function validateTemplate(t: PromptTemplate, name: string): PromptTemplate {
  for (const s of SECTIONS) {
    const body = t[s];
    if (body === undefined) continue;
    try {
      Mustache.parse(body);
    } catch (e) {
      throw new Error(`${name}: section "${s}": ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  }
  return t;
}

function render(body: string, view: object): string {
  return Mustache.render(body, view, undefined, { escape: (s: string) => s });
}

/** Renders every section of a template with any view (document-level prompts use their own). */
export function renderSections(t: PromptTemplate, view: object): RenderedPrompt {
  const out: RenderedPrompt = {
    instruction: render(t.instruction, view),
    input: render(t.input, view),
    output: render(t.output, view),
  };
  if (t.system !== undefined) out.system = render(t.system, view);
  return out;
}

export interface RenderedPrompt {
  system?: string;
  instruction: string;
  input: string;
  output: string;
}

export function renderTemplate(t: PromptTemplate, view: PromptView): RenderedPrompt {
  return renderSections(t, t.markEntities ? { ...view, sentence: view.marked_sentence } : view);
}

/**
 * The chat prompt of a rendered template, the one shape every level sends: the system message,
 * then the instruction (the shared prefix) and the input in one user message.
 */
export function chatPrompt(t: PromptTemplate, view: PromptView | object): ChatPrompt {
  const r =
    'marked_sentence' in view ? renderTemplate(t, view as PromptView) : renderSections(t, view);
  const p: ChatPrompt = { user: `${r.instruction}\n\n${r.input}` };
  if (r.system !== undefined) p.system = r.system;
  return p;
}

/** Serializes a template in the sectioned text format (parseTemplate reads it back). */
export function formatTemplate(t: PromptTemplate): string {
  const out: string[] = [];
  if (t.markEntities) out.push('#! markEntities');
  for (const s of SECTIONS) if (t[s] !== undefined) out.push(`### ${s}`, t[s]!);
  return out.join('\n') + '\n';
}
