/**
 * The export check of a trained adapter: on held-out prompts, node-llama-cpp with the GGUF
 * adapter on the quantized base must give the answer log-probabilities the PyTorch model (the
 * dequantized base + the adapter read back from the same GGUF) gives. The same comparison without
 * the adapter measures what quantized arithmetic alone accounts for, and the shift between base
 * and adapter shows that the adapter was applied at all.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChatPrompt } from '../core/ports';
import {
  RenderOptions,
  renderTrainingExamples,
  selectTrainingPairs,
} from '../core/training/trainingSet';
import { RelRecord } from '../core/schema';
import { LlamaEngine, PromptTokenizer } from '../engine/llama';
import { runTrainer } from './trainer';

export interface ExportCheck {
  prompts: number;
  answers: number;
  /** Largest |PyTorch − llama.cpp| answer log-probability, with the adapter. */
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** Share of prompts whose best answer is the same in both. */
  top1Agreement: number;
  /**
   * The same over the prompts whose best answer leads the second by more than quantized
   * arithmetic alone moves a log-probability (the base's largest difference): near-ties can flip
   * either way without any fault in the adapter.
   */
  top1AgreementDecisive: number;
  decisivePrompts: number;
  /** The same three without the adapter (quantized arithmetic alone). */
  base: { maxAbsDiff: number; meanAbsDiff: number; top1Agreement: number };
  /** Mean |adapter − base| answer log-probability (PyTorch): how much the adapter changes. */
  adapterShift: number;
}

async function llamaLogprobs(
  modelPath: string,
  adapter: string | undefined,
  prompts: ChatPrompt[],
  answers: number[][],
  threads?: number,
): Promise<number[][]> {
  const engine = await LlamaEngine.open({
    modelPath,
    loras: adapter ? [{ path: adapter, scale: 1 }] : [],
    parallel: 1,
    threads,
    contextSize: 4096,
  });
  try {
    const out: number[][] = [];
    for (const p of prompts)
      out.push(
        await engine.withPrompt(p, async (s) => {
          if (answers.every((a) => a.length === 1))
            return (await s.continuation([], [answers.map((a) => a[0]!)]))[0]!;
          const lps: number[] = [];
          for (const a of answers) {
            const r = await s.continuation(
              a.slice(0, -1),
              a.map((t) => [t]),
            );
            lps.push(r.reduce((x, row) => x + row[0]!, 0));
          }
          return lps;
        }),
      );
    return out;
  } finally {
    await engine.dispose();
  }
}

/** PyTorch answer log-probabilities with the adapter read back from the GGUF, and without it. */
async function torchLogprobs(
  modelPath: string,
  adapter: string,
  file: string,
  venv: string | undefined,
  threads?: number,
): Promise<{ adapter: number[][]; base: number[][] }> {
  const out = `${file}.scores.jsonl`;
  await runTrainer(
    'score',
    ['--base', modelPath, '--prompts', file, '--out', out, '--adapter', adapter, '--with-base'],
    { venv, threads },
  );
  const sum = (rows: number[][]) => rows.map((t) => t.reduce((a, b) => a + b, 0));
  const lines = (await fs.readFile(out, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { logprobs: number[][]; base: number[][] });
  return { adapter: lines.map((l) => sum(l.logprobs)), base: lines.map((l) => sum(l.base)) };
}

function compare(
  a: number[][],
  b: number[][],
): { maxAbsDiff: number; meanAbsDiff: number; top1Agreement: number } {
  let max = 0;
  let sum = 0;
  let n = 0;
  let agree = 0;
  const argmax = (v: number[]) => v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);
  a.forEach((row, i) => {
    row.forEach((x, j) => {
      const d = Math.abs(x - b[i]![j]!);
      max = Math.max(max, d);
      sum += d;
      n++;
    });
    if (argmax(row) === argmax(b[i]!)) agree++;
  });
  return {
    maxAbsDiff: max,
    meanAbsDiff: sum / Math.max(1, n),
    top1Agreement: agree / Math.max(1, a.length),
  };
}

/** Held-out prompts for the check: the first `n` labeled pairs, rendered as extraction sends them. */
export async function checkPrompts(
  records: RelRecord[],
  n: number,
  opts: Omit<RenderOptions, 'retriever' | 'k'>,
): Promise<{ prompts: ChatPrompt[]; answers: string[] }> {
  const pairs = selectTrainingPairs(records, opts.relationSet, opts.direction).pairs.slice(0, n);
  const prompts: ChatPrompt[] = [];
  let answers: string[] = [];
  for await (const e of renderTrainingExamples(pairs, opts)) {
    prompts.push(e.prompt);
    answers = e.answers;
  }
  return { prompts, answers };
}

export async function checkAdapterExport(opts: {
  modelPath: string;
  adapter: string;
  prompts: ChatPrompt[];
  answers: string[];
  venv?: string;
  threads?: number;
}): Promise<ExportCheck> {
  const tok = await PromptTokenizer.open(opts.modelPath);
  const answers = opts.answers.map((a) => tok.tokenizeAnswer(a));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'relation-lens-check-'));
  try {
    const file = path.join(dir, 'prompts.jsonl');
    await fs.writeFile(
      file,
      opts.prompts
        .map((p) => JSON.stringify({ prompt: tok.tokenizePrompt(p), candidates: answers }))
        .join('\n') + '\n',
    );
    const pt = await torchLogprobs(opts.modelPath, opts.adapter, file, opts.venv, opts.threads);
    const [ptAdapter, ptBase] = [pt.adapter, pt.base];
    const llAdapter = await llamaLogprobs(
      opts.modelPath,
      opts.adapter,
      opts.prompts,
      answers,
      opts.threads,
    );
    const llBase = await llamaLogprobs(
      opts.modelPath,
      undefined,
      opts.prompts,
      answers,
      opts.threads,
    );
    const shift = compare(ptAdapter, ptBase);
    const base = compare(ptBase, llBase);
    const margin = (v: number[]) => {
      const [a, b] = [...v].sort((x, y) => y - x);
      return a! - (b ?? -Infinity);
    };
    const decisive = ptAdapter
      .map((_, i) => i)
      .filter((i) => margin(ptAdapter[i]!) > base.maxAbsDiff);
    const d = compare(
      decisive.map((i) => ptAdapter[i]!),
      decisive.map((i) => llAdapter[i]!),
    );
    return {
      prompts: opts.prompts.length,
      answers: answers.length,
      ...compare(ptAdapter, llAdapter),
      top1AgreementDecisive: d.top1Agreement,
      decisivePrompts: decisive.length,
      base,
      adapterShift: shift.meanAbsDiff,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
