/**
 * The options of the two extraction levels, built in one place for the CLI and the engine
 * process, and the sentence-level run both of them consume (the document-level run is
 * core/pipelines/documentRunner.ts). Callers decide where the finished records go.
 */
import { RelationAligner, TextEmbedder } from '../core/pipelines/align';
import { DocumentOptions } from '../core/pipelines/document';
import { parsePairFilter } from '../core/pipelines/pairFilter';
import { ExtractedRecord, runSentenceExtraction } from '../core/pipelines/runner';
import { DecodeMode } from '../core/pipelines/sentence';
import { ClassifierEngine, ExampleRetriever } from '../core/ports';
import { PromptTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet } from '../core/schema';
import { readText } from './files';
import { ResolvedTemplate, resolveTemplate } from './resources';
import { NONE_ANSWER } from '../core/prompts/views';
import {
  AnswerSpace,
  DirectionMode,
  answerSpace,
  defaultDirection,
} from '../core/pipelines/answerSpace';
import { PairFilterSpec } from '../core/pipelines/candidates';
import { DocumentEncoder, EncoderRelationSetError } from '../core/pipelines/docEncoder';
import { isEncoderModel, openDocumentEncoder } from '../engine/docEncoder';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The models the project trained and ships (models/ next to src/ or dist/), if present. */
export function shippedModelsDir(): string | undefined {
  for (const d of [
    path.resolve(__dirname, '..', 'models'),
    path.resolve(__dirname, '..', '..', 'models'),
  ])
    if (existsSync(path.join(d, 'catalog.json'))) return d;
  return undefined;
}

/** The shipped document encoder (trained on Re-DocRED dev): the `auto` filter for its relation set. */
export function shippedEncoderDir(): string | undefined {
  const d = shippedModelsDir();
  const dir = d && path.join(d, 'redocred-filter');
  return dir && isEncoderModel(dir) ? dir : undefined;
}

export interface SentenceSpec {
  relationSet: RelationSet;
  template: PromptTemplate;
  mode: DecodeMode;
  /** Default: label for SemEval-style sets, else pair. */
  direction?: DirectionMode;
  retriever?: ExampleRetriever;
  k?: number;
  scoreMargin?: number;
  answerCodes?: boolean;
  signal?: AbortSignal;
  /** The model as the user named it (recorded in each prediction). */
  model: string;
}

/** The answer space and direction a sentence run uses (a retriever needs the space first). */
export function sentenceSpace(
  relationSet: RelationSet,
  direction?: DirectionMode,
): { space: AnswerSpace; direction: DirectionMode } {
  const d = direction ?? defaultDirection(relationSet);
  return { space: answerSpace(relationSet, d), direction: d };
}

/**
 * The one sentence-level run: finished records in input order, each prediction with the model
 * and the LoRA adapters that made it.
 */
export async function* runSentences(
  engine: ClassifierEngine | undefined,
  records: Iterable<RelRecord> | AsyncIterable<RelRecord>,
  spec: SentenceSpec,
): AsyncGenerator<ExtractedRecord> {
  const { space, direction } = sentenceSpace(spec.relationSet, spec.direction);
  const adapters = engine?.info.adapters ?? [];
  for await (const r of runSentenceExtraction(engine, records, space, {
    relationSet: spec.relationSet,
    template: spec.template,
    mode: spec.mode,
    direction,
    retriever: spec.retriever,
    k: spec.k,
    scoreMargin: spec.scoreMargin,
    answerCodes: spec.answerCodes,
    signal: spec.signal,
    keepTop: 3,
    inFlight: engine?.info.parallel ?? 4,
    model: spec.model,
  })) {
    if (adapters.length)
      for (const rel of r.record.relations)
        if (rel.source === 'model') rel.meta = { ...(rel.meta ?? {}), adapters };
    yield r;
  }
}

export interface DocumentSpec {
  relationSet: RelationSet;
  /** A built-in document template (lmrc, lmrc-rc, lmrc-evidence) or a template file. */
  template: string;
  /** With a template file: the answer None is allowed (default true) / sentences are numbered for evidence. */
  none?: boolean;
  evidence?: boolean;
  k: number;
  /**
   * none, llm, auto (the shipped encoder when the relation set is its own, else none), a filter
   * file made by train-filter, or an encoder folder made by train-encoder.
   */
  filter: string;
  /** `encoder`: the encoder's own relations, no LLM (needs an encoder filter or `encoder`). */
  mode?: 'llm' | 'encoder';
  /** An encoder folder for plain text's entities (default: the filter's, when it is an encoder); none: the LLM finds them. */
  encoder?: string;
  threshold?: number;
  entityFuzzy?: number;
  relationFuzzy?: number;
  theta?: number;
  embedder?: TextEmbedder;
  /** The most candidate pairs of one document sent to the model (0: no limit). */
  maxPairs?: number;
  /** How lines answers are decoded (auto: the engine decides). */
  decoding?: 'auto' | 'walk' | 'grammar';
  /** Each pair's answer limited to the encoder's N likeliest relations (0: all). */
  relationHints?: number;
  model: string;
  signal?: AbortSignal;
}

/**
 * The candidate filter a run names: none, llm, auto, a train-filter JSON, or an encoder folder
 * (refused when it was trained for another relation set than `rs`).
 */
export async function pairFilterSpec(
  filter: string,
  threshold?: number,
  rs?: RelationSet,
  onNote?: (line: string) => void,
): Promise<PairFilterSpec> {
  if (filter === 'none') return { kind: 'none' };
  if (filter === 'llm') return { kind: 'llm', threshold };
  if (filter === 'auto') {
    const dir = shippedEncoderDir();
    if (!dir) return { kind: 'none' };
    try {
      const encoder = await openDocumentEncoder(dir, { relationSet: rs });
      return { kind: 'encoder', encoder, threshold };
    } catch (e) {
      if (!(e instanceof EncoderRelationSetError)) throw e;
      onNote?.(
        `filter auto: the shipped encoder (${dir}) was trained for another relation set; no filter`,
      );
      return { kind: 'none' };
    }
  }
  if (isEncoderModel(filter)) {
    const encoder = await openDocumentEncoder(filter, { relationSet: rs });
    return { kind: 'encoder', encoder, threshold };
  }
  return {
    kind: 'model',
    model: parsePairFilter((await readText(filter)).text, filter),
    threshold,
  };
}

/**
 * The files a document run reads besides its input: the template, the pair filter and the
 * document encoder (read once, before any model loads).
 */
export type DocumentFiles = ResolvedTemplate & {
  filter: PairFilterSpec;
  encoder?: DocumentEncoder;
};

export async function documentFiles(
  spec: Pick<
    DocumentSpec,
    'template' | 'none' | 'evidence' | 'filter' | 'threshold' | 'mode' | 'encoder'
  > & { relationSet?: RelationSet },
  onNote?: (line: string) => void,
): Promise<DocumentFiles> {
  const filter = await pairFilterSpec(spec.filter, spec.threshold, spec.relationSet, onNote);
  let encoder: DocumentEncoder | undefined;
  if (spec.encoder && spec.encoder !== 'none') {
    encoder =
      filter.kind === 'encoder' &&
      path.resolve(filter.encoder.source) === path.resolve(spec.encoder)
        ? filter.encoder
        : await openDocumentEncoder(spec.encoder, {
            relationSet: spec.mode === 'encoder' ? spec.relationSet : undefined,
          });
  } else if (spec.encoder !== 'none' && filter.kind === 'encoder') encoder = filter.encoder;
  if (spec.mode === 'encoder' && !encoder)
    throw new Error(
      'mode encoder needs a document encoder: --filter ENCODER_DIR (train-encoder makes one; models/redocred-filter ships) or --encoder ENCODER_DIR',
    );
  return {
    ...(await resolveTemplate('document', spec.template, {
      none: spec.none,
      evidence: spec.evidence,
    })),
    filter,
    ...(encoder ? { encoder } : {}),
  };
}

/** The document pipeline's options from what a user sets (CLI flags or editor settings). */
export async function documentOptions(
  spec: DocumentSpec,
  files?: DocumentFiles,
): Promise<DocumentOptions> {
  const { template, none, evidence, filter, encoder } = files ?? (await documentFiles(spec));
  const rs = spec.relationSet;
  return {
    relationSet: rs,
    template,
    none,
    evidence,
    k: spec.k,
    filter,
    aligner: new RelationAligner(
      rs.labels.map((l) => l.name),
      {
        fuzzyThreshold: spec.relationFuzzy,
        theta: spec.theta,
        embedder: spec.embedder,
        noneWords: rs.noRelation ? [NONE_ANSWER, rs.noRelation] : undefined,
      },
    ),
    entityFuzzy: spec.entityFuzzy,
    ...(spec.maxPairs !== undefined ? { maxPairs: spec.maxPairs } : {}),
    ...(spec.mode ? { mode: spec.mode } : {}),
    ...(spec.decoding && spec.decoding !== 'auto' ? { decoding: spec.decoding } : {}),
    ...(spec.relationHints ? { relationHints: spec.relationHints } : {}),
    ...(encoder ? { encoder } : {}),
    model: spec.model,
    signal: spec.signal,
  };
}
