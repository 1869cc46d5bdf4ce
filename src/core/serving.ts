/**
 * The request fields that constrain an answer on each serving engine (pure: shared by the HTTP
 * engine and the OpenAI batch files), and how to read the answer back.
 */
import { GrammarSpec, ServerFlavor } from './ports';

/** GBNF for exactly one of `labels`. */
export function choiceGrammar(labels: string[]): string {
  return `root ::= ${labels.map((l) => JSON.stringify(l)).join(' | ')}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The body fields that constrain a chat completion to one of `labels`, per flavor, and how to
 * read the answer back.
 */
export function choiceFields(
  flavor: ServerFlavor,
  labels: string[],
): { fields: Record<string, unknown>; read: (content: string) => string; field: string } {
  switch (flavor) {
    case 'llama.cpp':
      return { fields: { grammar: choiceGrammar(labels) }, read: (c) => c, field: 'grammar' };
    case 'vllm':
      return {
        fields: { structured_outputs: { choice: labels } },
        read: (c) => c,
        field: 'structured_outputs.choice (vLLM ≥ 0.12; older servers need guided_choice)',
      };
    case 'sglang':
      return {
        fields: { regex: labels.map(escapeRegex).join('|') },
        read: (c) => c,
        field: 'regex',
      };
    case 'ollama':
    case 'openai':
      return {
        fields: {
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'answer',
              strict: true,
              schema: {
                type: 'object',
                properties: { answer: { type: 'string', enum: labels } },
                required: ['answer'],
                additionalProperties: false,
              },
            },
          },
        },
        read: (c) => {
          try {
            const a = (JSON.parse(c) as { answer?: unknown }).answer;
            return typeof a === 'string' ? a : c;
          } catch {
            return c;
          }
        },
        field: 'response_format (JSON schema)',
      };
  }
}

/** The body fields that put a chat completion under a grammar, per flavor (none: generate freely). */
export function grammarFields(
  flavor: ServerFlavor,
  g: GrammarSpec,
): Record<string, unknown> | undefined {
  if ('jsonSchema' in g) {
    if (flavor === 'vllm') return { structured_outputs: { json: g.jsonSchema } };
    if (flavor === 'llama.cpp') return { json_schema: g.jsonSchema };
    return {
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', schema: g.jsonSchema },
      },
    };
  }
  if (flavor === 'llama.cpp') return { grammar: g.gbnf };
  if (flavor === 'vllm') return { structured_outputs: { grammar: g.gbnf } };
  if (flavor === 'sglang') return { ebnf: g.gbnf };
  return undefined;
}
