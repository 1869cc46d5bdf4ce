/**
 * Throughput benchmark (same model, same machine, one run):
 *  - naive: each example's full prompt evaluated from scratch, free greedy generation, one sequence;
 *  - optimized: shared-prefix KV reuse + parallel sequences + label scoring;
 *  - limit: llama.cpp's raw prompt-evaluation rate on the same model; limit_fraction = tokens the
 *    optimized run evaluated per second ÷ that rate (how close it runs to the hardware).
 */
import { SEMEVAL_RELATIONS } from '../core/formats/semeval';
import { runSentenceExtraction } from '../core/pipelines/runner';
import { DecodeMode, pairPrompt } from '../core/pipelines/sentence';
import { PromptTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet, candidatePairs } from '../core/schema';
import { LlamaEngine } from '../engine/llama';
import { ChatPrompt } from '../core/ports';
import { answerSpace, defaultDirection } from '../core/pipelines/answerSpace';

export interface ThroughputResult {
  model: string;
  n: number;
  threads: number;
  parallel: number;
  template: string;
  optimized_mode: DecodeMode;
  score_margin: number;
  answer_codes: boolean;
  naive_n: number;
  naive_examples_per_s: number;
  optimized_examples_per_s: number;
  speedup: number;
  naive_tokens_per_example: number;
  optimized_tokens_per_example: number;
  optimized_tokens_per_s: number;
  raw_prompt_eval_tokens_per_s: number;
  limit_fraction: number;
  /** llama.cpp's rate on the prompts' shape: every sequence evaluates one example's own tokens after the shared prefix. */
  chunk_eval_tokens_per_s: number;
  chunk_limit_fraction: number;
  prompt_tokens: number;
  naive_answers_in_set: number;
}

/** `n` records: the input's, repeated under new ids when it has fewer. */
function repeatRecords(input: RelRecord[], n: number): RelRecord[] {
  const records: RelRecord[] = [];
  for (let i = 0; records.length < n; i++) {
    const r = input[i % input.length]!;
    records.push(i < input.length ? r : { ...r, id: `${r.id}~${i}` });
  }
  return records;
}

/**
 * The same shape as the pipeline's work without the pipeline: the prompts' shared prefix, then
 * each example's own tokens (their mean over the prompts given), in all sequences at once.
 */
async function sameShapeRate(
  engine: LlamaEngine,
  prompts: number[][],
  log: (s: string) => void,
): Promise<number> {
  let prefix = Math.min(...prompts.map((p) => p.length));
  for (const p of prompts.slice(1))
    for (let i = 0; i < prefix; i++) if (p[i] !== prompts[0]![i]) prefix = i;
  const chunk = Math.max(
    1,
    Math.round(prompts.reduce((a, p) => a + p.length - prefix, 0) / prompts.length),
  );
  const rate = await engine.chunkEvalRate(prefix, chunk);
  log(
    `chunk eval (${engine.info.parallel} × ${chunk} tokens after a ${prefix}-token prefix): ${rate.toFixed(1)} tokens/s`,
  );
  return rate;
}

/**
 * The naive side: one sequence, no prefix reuse, free generation of each example's answer; also
 * llama.cpp's raw prompt-evaluation rate (the limit) on the same engine.
 */
export async function naiveRun(
  opts: { modelPath: string; threads?: number },
  records: RelRecord[],
  prompt: (r: RelRecord) => ChatPrompt,
  answers: string[],
): Promise<{ raw: number; ms: number; tokens: number; promptTokens: number; inSet: number }> {
  const naive = await LlamaEngine.open({
    modelPath: opts.modelPath,
    parallel: 1,
    threads: opts.threads,
    contextSize: 2048,
    reusePrefix: false,
  });
  try {
    const raw = await naive.rawPromptEvalRate(512);
    const t0 = performance.now();
    const e0 = naive.evaluatedTokens;
    let promptTokens = 0;
    let inSet = 0;
    for (const r of records) {
      const text = await naive.withPrompt(prompt(r), async (s) => {
        promptTokens = s.promptTokens;
        return s.generateFree(24);
      });
      if (answers.includes(text.trim())) inSet++;
    }
    return {
      raw,
      ms: performance.now() - t0,
      tokens: naive.evaluatedTokens - e0,
      promptTokens,
      inSet,
    };
  } finally {
    await naive.dispose();
  }
}

/** Every benchmark example is the record's first candidate pair, prompted as classification does. */
export function firstPairPromptOf(
  r: RelRecord,
  o: { relationSet: RelationSet; template: PromptTemplate; answerCodes?: boolean },
): ChatPrompt {
  const [a, b] = candidatePairs(r)[0]!;
  return pairPrompt(
    r,
    r.entities.find((e) => e.id === a)!,
    r.entities.find((e) => e.id === b)!,
    {
      ...o,
      direction: defaultDirection(o.relationSet),
    },
  );
}

/** What benchThroughput measures with. */
export interface ThroughputOptions {
  modelPath: string;
  records: RelRecord[];
  n: number;
  naiveN?: number;
  parallel: number;
  threads?: number;
  template: PromptTemplate;
  relationSet?: RelationSet;
  mode?: DecodeMode;
  scoreMargin?: number;
  answerCodes?: boolean;
  log?: (s: string) => void;
}

export async function benchThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const rs = opts.relationSet ?? SEMEVAL_RELATIONS;
  const direction = defaultDirection(rs);
  const space = answerSpace(rs, direction);
  const records = repeatRecords(opts.records, opts.n);
  const log = opts.log ?? (() => undefined);
  const mode = opts.mode ?? 'score';
  const firstPairPrompt = (r: RelRecord, answerCodes?: boolean) =>
    firstPairPromptOf(r, { relationSet: rs, template: opts.template, answerCodes });

  // Naive: one sequence, no prefix reuse, free generation.
  // The naive cost per example is constant (nothing is shared), so fewer examples measure it.
  const naiveRecords = records.slice(0, Math.min(records.length, opts.naiveN ?? records.length));
  const nv = await naiveRun(opts, naiveRecords, (r) => firstPairPrompt(r), space.answers);
  log(`raw prompt eval: ${nv.raw.toFixed(1)} tokens/s`);
  log(`naive: ${naiveRecords.length} examples in ${(nv.ms / 1000).toFixed(1)} s`);

  // Optimized: prefix reuse + parallel sequences + label scoring.
  const engine = await LlamaEngine.open({
    modelPath: opts.modelPath,
    parallel: opts.parallel,
    threads: opts.threads,
    contextSize: 2048,
  });
  try {
    const t1 = performance.now();
    const e1 = engine.evaluatedTokens;
    let done = 0;
    for await (const _ of runSentenceExtraction(engine, records, space, {
      relationSet: rs,
      template: opts.template,
      mode,
      direction,
      inFlight: opts.parallel,
      model: opts.modelPath,
      scoreMargin: opts.scoreMargin,
      answerCodes: opts.answerCodes,
    }))
      done++;
    const optTime = performance.now() - t1;
    const optTokens = engine.evaluatedTokens - e1;
    log(`optimized: ${done} examples in ${(optTime / 1000).toFixed(1)} s`);
    const prompts = records
      .slice(0, 32)
      .map((r) => engine.tokenizePrompt(firstPairPrompt(r, opts.answerCodes)));
    const chunkRate = await sameShapeRate(engine, prompts, log);
    const naiveRate = (1000 * naiveRecords.length) / nv.ms;
    const optRate = (1000 * records.length) / optTime;
    const optTokRate = (1000 * optTokens) / optTime;
    return {
      model: opts.modelPath,
      n: records.length,
      threads: engine.info.threads,
      parallel: opts.parallel,
      template: opts.template.name,
      optimized_mode: mode,
      score_margin: opts.scoreMargin ?? 1e4,
      answer_codes: !!opts.answerCodes,
      naive_examples_per_s: naiveRate,
      optimized_examples_per_s: optRate,
      speedup: optRate / naiveRate,
      naive_n: naiveRecords.length,
      naive_tokens_per_example: nv.tokens / naiveRecords.length,
      optimized_tokens_per_example: optTokens / records.length,
      optimized_tokens_per_s: optTokRate,
      raw_prompt_eval_tokens_per_s: nv.raw,
      limit_fraction: optTokRate / nv.raw,
      chunk_eval_tokens_per_s: chunkRate,
      chunk_limit_fraction: optTokRate / chunkRate,
      prompt_tokens: nv.promptTokens,
      naive_answers_in_set: nv.inSet / naiveRecords.length,
    };
  } finally {
    await engine.dispose();
  }
}
