/**
 * The built-in prompt templates, one registry for both levels:
 *  - sentence level (one pair per prompt): `default`, `rag4re` (RAG4RE, seed 002), `cre-llm`
 *    (CRE-LLM, seed 001), `cre-llm-short` (without the relation list, for trained adapters);
 *  - document level (k pairs per prompt, LMRC, seed 003): `lmrc`, `lmrc-rc`, `lmrc-evidence`.
 * A template given by name is looked up here; anything else is a file (src/node/templates.ts).
 */
import { PromptTemplate } from './template';

export const DEFAULT_TEMPLATE: PromptTemplate = {
  name: 'default',
  system: 'You are an expert annotator of semantic relations between entities.',
  instruction: [
    'Classify the relation between the head entity and the tail entity in the sentence.',
    'Answer with exactly one label from this list:',
    '{{#relations}}',
    '- {{name}}{{#description}}: {{description}}{{/description}}',
    '{{/relations}}',
  ].join('\n'),
  input: [
    '{{#examples}}',
    'Example: {{sentence}}',
    'Head: {{head}} | Tail: {{tail}} | Relation: {{label}}',
    '',
    '{{/examples}}',
    'Sentence: {{sentence}}',
    'Head: {{head}}',
    'Tail: {{tail}}',
  ].join('\n'),
  output: '{{label}}',
};

/**
 * RAG4RE's prompt (seed 002, Figure 3). One change: the relation types move from after the
 * query into the instruction, so that everything before the example is identical for every
 * example (the KV-cache prefix). Retrieved examples, when any, precede the query.
 */
export const RAG4RE_TEMPLATE: PromptTemplate = {
  name: 'rag4re',
  instruction: [
    'Problem Definition:',
    'Relation extraction is to identify the relationship between two entities in a sentence.',
    '',
    'Question:',
    'What is the relation type between tail and head entities according to given relationships below in the following sentence?',
    'Relation types: {{relation_names}}',
    '',
    'output format: relation_type',
  ].join('\n'),
  input: [
    '{{#examples}}',
    'Example Sentence: {{sentence}}',
    'Head: {{head}}',
    'Tail: {{tail}}',
    'Relation: {{label}}',
    '',
    '{{/examples}}',
    'Query Sentence: {{sentence}}',
    'Head: {{head}}',
    'Tail: {{tail}}',
  ].join('\n'),
  output: '{{label}}',
};

/**
 * The CRE-LLM instruction prompt (seed 001), written from its description: an instruction, the
 * text and the two entities, answered with the relation.
 */
export const CRE_LLM_TEMPLATE: PromptTemplate = {
  name: 'cre-llm',
  system: '你是一个特定领域中文关系抽取的专家。',
  instruction: [
    '任务：阅读给定的中文文本，判断其中头实体与尾实体之间的关系。',
    '只能从下列关系中选择一个作为答案：{{relation_names}}',
    '{{#no_relation}}如果以上关系都不成立，请回答“{{no_relation}}”。{{/no_relation}}',
    '只输出关系名称，不要输出其他内容。',
  ].join('\n'),
  input: [
    '{{#examples}}',
    '示例文本：{{sentence}}',
    '头实体：{{head}}',
    '尾实体：{{tail}}',
    '关系：{{label}}',
    '',
    '{{/examples}}',
    '文本：{{sentence}}',
    '头实体：{{head}}',
    '尾实体：{{tail}}',
  ].join('\n'),
  output: '{{label}}',
};

/**
 * CRE-LLM's prompt without the relation list, for adapters trained on the relation set: the
 * adapter has learned the labels and constrained decoding keeps answers within the set, so the
 * list (most of a FinRE prompt: 44 Chinese names) is not sent at every training step and every
 * extraction. Zero-shot it is not meant to be used: the model has no list to choose from.
 */
export const CRE_LLM_SHORT_TEMPLATE: PromptTemplate = {
  ...CRE_LLM_TEMPLATE,
  name: 'cre-llm-short',
  instruction: [
    '任务：阅读给定的中文文本，判断其中头实体与尾实体之间的关系。',
    '{{#no_relation}}如果没有关系，请回答“{{no_relation}}”。{{/no_relation}}',
    '只输出关系名称，不要输出其他内容。',
  ].join('\n'),
};

const LMRC_HEADER =
  'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.';
const DOC_INPUT = [
  '### Text:',
  '{{text}}',
  '',
  '### {{pair_count}} Entity pairs:',
  '{{pair_lines}}',
  '',
  '### Response:',
].join('\n');

/** An Appendix A prompt of seed 003: the shared header, the task, the formats, the relation set. */
function lmrcTemplate(name: string, task: string, outputFormat: string): PromptTemplate {
  return {
    name,
    instruction: [
      LMRC_HEADER,
      '',
      '### Instruction:',
      task,
      "The format of the input entity pair is '(head entity| -| tail entity)'.",
      `Your output format is '${outputFormat}'.`,
      '',
      '### Relation set:',
      '{{relation_names}}',
    ].join('\n'),
    input: DOC_INPUT,
    output: '{{answer_lines}}',
  };
}

/** Seed 003, Appendix A, "Prompt for Document-level Relation Extraction" (answers may be None). */
export const LMRC_TEMPLATE = lmrcTemplate(
  'lmrc',
  'Your task is to determine whether there are relations between the entity pairs based on the information in the text. If there exists relations, select relations for the entity pairs from the relation set; if there is no relation, return None.',
  '(head entity| relation/None| tail entity)',
);

/** Seed 003, Appendix A, "Prompt for Relation Classification" (no None: the pairs were filtered). */
export const LMRC_RC_TEMPLATE = lmrcTemplate(
  'lmrc-rc',
  'This is a relation classification task. we will provide entity pairs that require relation classification. Your task is to select relations for each entity pair from the given relation set based on the information in the text. There may be multiple relations between an entity pair.',
  '(head entity| relation| tail entity)',
);

/**
 * `lmrc` asking also for evidence: the text comes with sentence numbers ("[0] …") and each
 * relation line ends with the numbers of the sentences that support it. Not in the seed, which
 * does not predict evidence.
 */
export const LMRC_EVIDENCE_TEMPLATE = lmrcTemplate(
  'lmrc-evidence',
  'Your task is to determine whether there are relations between the entity pairs based on the information in the text. If there exists relations, select relations for the entity pairs from the relation set and give the numbers of the sentences of the text that support each relation; if there is no relation, return None.',
  '(head entity| relation| tail entity| sentence numbers) or (head entity| None| tail entity)',
);

/** A built-in template and, for document prompts, whether answers may be None and carry evidence. */
export interface BuiltinTemplate {
  template: PromptTemplate;
  none: boolean;
  evidence: boolean;
}

export type TemplateLevel = 'sentence' | 'document';

export const TEMPLATES: Record<TemplateLevel, Record<string, BuiltinTemplate>> = {
  sentence: {
    default: { template: DEFAULT_TEMPLATE, none: true, evidence: false },
    rag4re: { template: RAG4RE_TEMPLATE, none: true, evidence: false },
    'cre-llm': { template: CRE_LLM_TEMPLATE, none: true, evidence: false },
    'cre-llm-short': { template: CRE_LLM_SHORT_TEMPLATE, none: true, evidence: false },
  },
  document: {
    lmrc: { template: LMRC_TEMPLATE, none: true, evidence: false },
    'lmrc-rc': { template: LMRC_RC_TEMPLATE, none: false, evidence: false },
    'lmrc-evidence': { template: LMRC_EVIDENCE_TEMPLATE, none: true, evidence: true },
  },
};

/** The template used when none is named. */
export const DEFAULT_TEMPLATE_NAME: Record<TemplateLevel, string> = {
  sentence: 'default',
  document: 'lmrc',
};

export function builtinTemplate(level: TemplateLevel, name: string): BuiltinTemplate | undefined {
  return Object.hasOwn(TEMPLATES[level], name) ? TEMPLATES[level][name] : undefined;
}

export function builtinTemplateNames(level: TemplateLevel): string[] {
  return Object.keys(TEMPLATES[level]);
}
