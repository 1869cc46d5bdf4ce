/**
 * The fine-tuning commands of the CLI: `train-lora` (a LoRA adapter from curated records) and
 * `trainer setup|env` (the Python trainer's virtual environment). Registered on the program
 * built in cli.ts.
 */
import { Command, Option } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { TrainingRetriever } from '../core/retrieval/retriever';
import { PromptTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet, candidatePairs, isDocumentRecord } from '../core/schema';
import { pairKey } from '../core/pipelines/pairFilter';
import { isEncoderModel, openDocumentEncoder } from '../engine/docEncoder';
import { resolveModel } from '../engine/models';
import { onInterrupt } from '../node/interrupt';
import { sentenceSpace, shippedEncoderDir } from '../node/jobs';
import { loadIndex } from '../node/ragIndex';
import { ImportFormat } from '../node/load';
import { ProgressBar } from '../node/progress';
import { adapterManifestPath, readAdapterManifest } from '../node/adapters';
import { checkAdapterExport, checkPrompts } from '../node/adapterCheck';
import { DocumentTraining, TrainHyper, TrainLoraJob, trainLoraJob } from '../node/trainLora';
import { resolveTemplate } from '../node/resources';
import { defaultVenv, runTrainer, setupTrainer } from '../node/trainer';
import type { CliContext } from './doc';
import { DirectionMode } from '../core/pipelines/answerSpace';
import { cliOption, fromOption, limitOption, NO_RELATION_SET, printJson } from './common';
import {
  EmbeddingsCliOptions,
  addEmbeddingsOptions,
  embeddingsAccess,
  embeddingsLine,
} from './server';

export interface TrainCliContext extends CliContext {
  resolveTemplate(name: string | undefined): Promise<PromptTemplate>;
  relationSetFor(
    opts: { relations?: string },
    fallback?: RelationSet,
    input?: string,
  ): Promise<RelationSet | undefined>;
}

interface TrainLoraOptions extends Omit<TrainHyper, 'alpha'>, EmbeddingsCliOptions {
  json?: boolean;
  /** Default: 2 × rank. */
  alpha?: number;
  model?: string;
  relations?: string;
  from?: ImportFormat;
  template: string;
  answers: 'names' | 'codes';
  direction?: DirectionMode;
  rag?: string;
  k: number;
  dev?: string;
  resumeFrom?: string;
  threads?: number;
  venv: string;
  checkpointEvery?: number;
  force?: boolean;
  out: string;
  level: 'auto' | 'sentence' | 'document';
  pairsPerPrompt: number;
  filter?: string;
  contextSize: number;
}

function layersSpec(v: string): string {
  if (v === 'all' || v === 'auto' || /^top-[1-9]\d*$/.test(v)) return v;
  throw new InputError(
    `--layers must be top-N (the N blocks nearest the output), all or auto, got ${JSON.stringify(v)}`,
  );
}

function positiveFloat(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new InputError(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

function hyperOf(opts: TrainLoraOptions): TrainLoraJob['hyper'] {
  return {
    epochs: opts.epochs,
    rank: opts.rank,
    alpha: opts.alpha ?? 2 * opts.rank,
    layers: opts.layers,
    lr: opts.lr,
    batchSize: opts.batchSize,
    maxExamples: opts.maxExamples,
    maxSteps: opts.maxSteps,
    seed: opts.seed,
  };
}

/** The trainer's progress as a line every 2 s (and at the last step). */
export function progressLines(): NonNullable<TrainLoraJob['onProgress']> {
  let lastLine = 0;
  return (p) => {
    const now = Date.now();
    if (p.step !== p.steps && now - lastLine < 2000) return;
    lastLine = now;
    process.stderr.write(
      `step ${p.step}/${p.steps} (epoch ${p.epoch}): loss ${p.loss_avg.toFixed(4)}, ${p.examples_per_s.toFixed(2)} examples/s, ${Math.round(p.eta_s)} s left\n`,
    );
  };
}

/**
 * Document-level training (LMRC) when --level says so, or (auto) when most records are
 * documents: the document template (--template, default lmrc) and pairs per prompt.
 */
async function documentTraining(
  records: RelRecord[],
  opts: TrainLoraOptions,
  templateGiven: boolean,
  rs: RelationSet,
): Promise<(DocumentTraining & { template: PromptTemplate }) | undefined> {
  const docs = records.filter(isDocumentRecord).length;
  const level =
    opts.level === 'auto' ? (docs > records.length / 2 ? 'document' : 'sentence') : opts.level;
  if (level === 'sentence') return undefined;
  if (opts.rag)
    throw new InputError(
      '--rag trains sentence-level prompts; it does not go with --level document',
    );
  const t = await resolveTemplate('document', templateGiven ? opts.template : undefined);
  if (t.evidence)
    throw new InputError(
      `${t.from} asks for evidence sentence numbers; train with lmrc or lmrc-rc (the training data has no evidence answers)`,
    );
  return {
    template: t.template,
    none: t.none,
    k: opts.pairsPerPrompt,
    contextSize: opts.contextSize,
    ...(opts.filter ? { kept: await filterKept(opts.filter, records, rs) } : {}),
  };
}

/**
 * The pairs an encoder filter keeps in each document (its own threshold): document-level
 * training draws its negatives from them, as extraction will ask about them.
 */
async function filterKept(
  filter: string,
  records: RelRecord[],
  rs: RelationSet,
): Promise<Map<string, Set<string>>> {
  const dir = filter === 'auto' ? shippedEncoderDir() : filter;
  if (!dir || !isEncoderModel(dir))
    throw new InputError(
      `--filter takes an encoder folder (train-encoder) or auto (the shipped one); ${filter} is not one`,
    );
  const encoder = await openDocumentEncoder(dir, { relationSet: rs });
  const th = encoder.manifest?.threshold ?? 0.5;
  const out = new Map<string, Set<string>>();
  let pairs = 0;
  let kept = 0;
  for (const r of records) {
    const ps = candidatePairs(r);
    const scores = await encoder.scorePairs(r, ps);
    const keep = new Set(ps.filter((_, i) => scores[i]! >= th).map(([h, t]) => pairKey(h, t)));
    out.set(r.id, keep);
    pairs += ps.length;
    kept += keep.size;
  }
  process.stderr.write(
    `negatives from the pairs ${dir} keeps (threshold ${th.toPrecision(4)}): ${kept} of ${pairs} (${((100 * kept) / Math.max(1, pairs)).toFixed(1)}%)\n`,
  );
  return out;
}

async function trainLoraCommand(
  ctx: TrainCliContext,
  input: string,
  opts: TrainLoraOptions,
  templateGiven: boolean,
): Promise<void> {
  if (!/\.gguf$/i.test(opts.out))
    throw new InputError(`the adapter is a GGUF file: name it *.gguf (got ${opts.out})`);
  const r = await ctx.load(input, { format: opts.from, relations: opts.relations });
  const rs = await ctx.relationSetFor(opts, r.relationSet, input);
  if (!rs) throw new InputError(NO_RELATION_SET, input);
  const document = await documentTraining(r.records, opts, templateGiven, rs);
  const template = document ? document.template : await ctx.resolveTemplate(opts.template);
  const { space, direction } = sentenceSpace(rs, opts.direction);
  const dev = opts.dev
    ? { file: opts.dev, records: (await ctx.load(opts.dev, { relations: opts.relations })).records }
    : undefined;
  const controller = new AbortController();
  const stopListening = onInterrupt(
    controller,
    'stopping after this training step: the adapter trained so far is saved (Ctrl-C again to stop at once)',
  );
  if ((opts.embeddingsEndpoint || opts.embeddingsApiKeyEnv) && !opts.rag)
    throw new InputError('--embeddings-endpoint and --embeddings-api-key-env go with --rag');
  const rag = opts.rag
    ? await loadIndex(opts.rag, { threads: opts.threads, embeddings: embeddingsAccess(opts) })
    : undefined;
  if (rag?.server) process.stderr.write(`retrieval${embeddingsLine(rag.server)}\n`);
  const spec = ctx.modelSpec(opts.model);
  const dl = new ProgressBar(`downloading ${spec}`);
  const modelPath = await resolveModel(spec, {
    signal: controller.signal,
    onProgress: (d, t) => dl.update(d, t),
  });
  dl.stop();
  try {
    const { manifest, done } = await trainLoraJob({
      input,
      records: r.records,
      ...(document ? { document } : {}),
      dev,
      relationSet: rs,
      template,
      space,
      direction,
      answerCodes: opts.answers === 'codes',
      retriever: rag ? new TrainingRetriever(rag.examples, rag.searcher, space) : undefined,
      rag: opts.rag ? { index: opts.rag, k: opts.k } : undefined,
      modelPath,
      out: opts.out,
      force: opts.force,
      resumeFrom: opts.resumeFrom,
      hyper: hyperOf(opts),
      venv: opts.venv,
      threads: opts.threads,
      checkpointEvery: opts.checkpointEvery,
      command: ['relation-lens', 'train-lora', ...process.argv.slice(3)].join(' '),
      signal: controller.signal,
      log: (l) => process.stderr.write(l + '\n'),
      onProgress: progressLines(),
    });
    process.stderr.write(trainSummary(manifest, opts, spec, template, document));
    if (opts.json)
      printJson({ out: opts.out, manifest: adapterManifestPath(opts.out), ...manifest });
    if (done.stopped) ctx.setExitCode(130);
  } finally {
    stopListening();
    await rag?.dispose();
  }
}

/** What train-lora says when it is done: steps, losses, files, and how to use the adapter. */
function trainSummary(
  manifest: Awaited<ReturnType<typeof trainLoraJob>>['manifest'],
  opts: TrainLoraOptions,
  spec: string,
  template: PromptTemplate,
  document: DocumentTraining | undefined,
): string {
  const t = manifest.training;
  return (
    `${t.stopped ? 'stopped early: ' : ''}trained ${t.steps} step(s) on ${manifest.data.examples} example(s) in ${t.seconds.toFixed(1)} s (${t.examplesPerSecond.toFixed(2)} examples/s${t.peakRssMb ? `, peak memory ${t.peakRssMb} MB` : ''}); ` +
    `answer loss ${t.lossCurve[0]?.[1] ?? '?'} → ${t.lossCurve.at(-1)?.[1] ?? '?'}${manifest.dev?.loss !== undefined ? `; dev loss ${manifest.dev.loss}${manifest.dev.accuracy !== undefined ? `, dev accuracy ${(100 * manifest.dev.accuracy).toFixed(1)}%` : ''}` : ''}\n` +
    `wrote ${opts.out} and ${adapterManifestPath(opts.out)}\n` +
    (document
      ? `use it: relation-lens extract-doc … --model ${spec} --lora ${opts.out} --template ${template.name} --pairs-per-prompt ${document.k}\n`
      : `use it: relation-lens extract … --model ${spec} --lora ${opts.out} --template ${opts.template} --answers ${opts.answers}${opts.rag ? ` --rag ${opts.rag} --demonstrations ${opts.k}` : ''}\n`)
  );
}

export function addTrainingCommands(program: Command, bench: Command, ctx: TrainCliContext): void {
  addTrainLoraCommand(program, ctx);
  addTrainerCommand(program);
  addBenchAdapterCheckCommand(bench, ctx);
}

type AdapterCheckCommandOptions = {
  lora: string;
  model?: string;
  relations?: string;
  template?: string;
  n: number;
  venv: string;
  json?: boolean;
};

async function adapterCheckCommand(
  ctx: TrainCliContext,
  input: string,
  opts: AdapterCheckCommandOptions,
): Promise<void> {
  const manifest = await readAdapterManifest(opts.lora);
  const r = await ctx.load(input, { relations: opts.relations });
  const rs = await ctx.relationSetFor(opts, r.relationSet, input);
  if (!rs) throw new InputError(NO_RELATION_SET, input);
  const template = await ctx.resolveTemplate(opts.template ?? manifest?.template.name);
  const { space, direction } = sentenceSpace(rs, manifest?.direction);
  const { prompts, answers } = await checkPrompts(r.records, opts.n, {
    relationSet: rs,
    template,
    space,
    direction,
    answerCodes: (manifest?.answers ?? 'codes') === 'codes',
  });
  if (!prompts.length) throw new InputError('no labeled pairs to build prompts from', input);
  const modelPath = await resolveModel(ctx.modelSpec(opts.model));
  const c = await checkAdapterExport({
    modelPath,
    adapter: opts.lora,
    prompts,
    answers,
    venv: opts.venv,
  });
  if (opts.json) return printJson(c);
  process.stdout.write(
    `${c.prompts} prompt(s) × ${c.answers} answers, answer log-probabilities, PyTorch vs node-llama-cpp\n` +
      `with the adapter:  max |Δ| ${c.maxAbsDiff.toFixed(3)}, mean ${c.meanAbsDiff.toFixed(3)}, same best answer ${(100 * c.top1Agreement).toFixed(1)}% (${(100 * c.top1AgreementDecisive).toFixed(1)}% of the ${c.decisivePrompts} with a lead over ${c.base.maxAbsDiff.toFixed(3)})\n` +
      `base alone:        max |Δ| ${c.base.maxAbsDiff.toFixed(3)}, mean ${c.base.meanAbsDiff.toFixed(3)}, same best answer ${(100 * c.base.top1Agreement).toFixed(1)}%\n` +
      `the adapter moves the answers by ${c.adapterShift.toFixed(3)} on average\n`,
  );
}

function addTrainLoraCommand(program: Command, ctx: TrainCliContext): void {
  program
    .command('train-lora')
    .description(
      'train a LoRA adapter on curated records (gold, accepted and edited relations) with the prompts extraction sends; writes a GGUF adapter for the quantized base and a manifest beside it',
    )
    .argument('<train>', 'curated records (canonical JSONL or any importable format)')
    .option(
      '--model <path|uri|id>',
      'the base GGUF model (default: $RELATION_LENS_MODEL, else the catalog default)',
    )
    .option(
      '--relations <file>',
      'relation set (JSON or relation2id.txt); default: the one the input format defines',
    )
    .addOption(fromOption())
    .addOption(
      cliOption('template', {
        description:
          'prompt template (the one extraction will use): default, rag4re, cre-llm, cre-llm-short, or a file',
      }),
    )
    .addOption(
      cliOption('answers', {
        description:
          'answer with relation names (the better form in our measurements; docs/fine-tuning.md) or one-token codes; extract --answers must match',
      }),
    )
    .addOption(cliOption('direction'))
    .option(
      '--rag <index>',
      'train with retrieved demonstrations in the prompt (RAG4RE; extract with the same --rag and --demonstrations)',
    )
    .addOption(cliOption('k', { description: 'demonstrations per prompt with --rag' }))
    .option(
      '--dev <file>',
      'held-out records: dev loss and answer accuracy after each epoch (at most 200 pairs)',
    )
    .option('--force', 'replace the adapter and its manifest if they exist')
    .option('--json', 'also print the manifest as one JSON object on standard output')
    .requiredOption('-o, --out <adapter.gguf>', 'the LoRA adapter to write')
    .option(
      '--level <auto|sentence|document>',
      'sentence: one pair per prompt; document: LMRC, k pairs per prompt with a document template (lmrc, lmrc-rc or a file; the default --template becomes lmrc); auto: document when most records are documents',
      (v) => {
        if (!['auto', 'sentence', 'document'].includes(v))
          throw new InputError(
            `--level must be auto, sentence or document, got ${JSON.stringify(v)}`,
          );
        return v;
      },
      'auto',
    )
    .option(
      '--filter <encoder-dir|auto>',
      "document level: draw the pairs without a relation from those this encoder keeps (extraction's candidates; auto: the shipped models/redocred-filter) instead of from every pair",
    )
    .option(
      '--pairs-per-prompt <n>',
      "entity pairs per prompt at document level (extract-doc's --pairs-per-prompt)",
      (v) => ctx.positiveInt(v, '--pairs-per-prompt'),
      8,
    )
    .addOption(
      cliOption('contextSize', {
        description:
          'document level: a prompt and its answer longer than this are cut to a window of sentences, as extract-doc does',
      }),
    )
    .action(async (input: string, opts: TrainLoraOptions, cmd: Command) => {
      await trainLoraCommand(ctx, input, opts, cmd.getOptionValueSource('template') !== 'default');
    });
  addTrainingOptions(
    program.commands.find((c) => c.name() === 'train-lora')!,
    ctx,
  );
  addEmbeddingsOptions(program.commands.find((c) => c.name() === 'train-lora')!);
}

/** The trainer's options of train-lora: hyper-parameters, sampling, checkpoints, threads, venv. */
function addTrainingOptions(cmd: Command, ctx: TrainCliContext): void {
  const int = (name: string) => (v: string) => ctx.positiveInt(v, name);
  cmd
    .option('--epochs <n>', 'passes over the training pairs', int('--epochs'), 2)
    .option('--rank <r>', 'LoRA rank', int('--rank'), 16)
    .option('--alpha <a>', 'LoRA alpha (default: 2 × rank)', (v) => positiveFloat(v, '--alpha'))
    .option(
      '--layers <top-N|all|auto>',
      'blocks to adapt: the N nearest the output, all, or auto (all on a GPU, top-10 on a CPU)',
      layersSpec,
      'auto',
    )
    .option(
      '--lr <rate>',
      'peak learning rate (linear warm-up and decay)',
      (v) => positiveFloat(v, '--lr'),
      3e-4,
    )
    .option('--batch-size <n>', 'examples per step', int('--batch-size'), 8)
    .option(
      '--max-examples <n>',
      'train on a fixed sample of at most N pairs (same seed, same sample)',
      int('--max-examples'),
    )
    .option('--max-steps <n>', 'stop after N steps', int('--max-steps'))
    .option(
      '--seed <n>',
      'seed of the sample, the shuffle and the initialisation',
      (v) => Number.parseInt(v, 10),
      0,
    )
    .option(
      '--resume-from <adapter.gguf>',
      'continue training this adapter (its rank, layers and alpha)',
    )
    .option(
      '--checkpoint-every <n>',
      'export the adapter every N steps while training',
      int('--checkpoint-every'),
    )
    .option('--threads <n>', 'CPU threads for the trainer (default: all cores)', int('--threads'))
    .addOption(venvOption("the trainer's virtual environment (relation-lens trainer setup)"));
}

/** --venv with its default shown as a user reads it (~ for the home folder, not this machine's path). */
export function venvOption(description: string): Option {
  const venv = defaultVenv();
  const home = os.homedir();
  return new Option('--venv <dir>', description).default(
    venv,
    venv.startsWith(home + path.sep) ? `~${venv.slice(home.length)}` : venv,
  );
}

function addTrainerCommand(program: Command): void {
  const trainer = program
    .command('trainer')
    .description(
      'the Python LoRA trainer (torch + transformers + peft in its own virtual environment)',
    );
  trainer
    .command('setup')
    .description(
      "create the trainer's virtual environment and install its pinned requirements (several minutes and ~5.6 GB the first time; nothing when up to date)",
    )
    .addOption(venvOption('where'))
    .option('--python <exe>', 'the Python (≥ 3.10) that creates it (default: python3)')
    .action(async (opts: { venv: string; python?: string }) => {
      const t0 = Date.now();
      const r = await setupTrainer({
        venv: path.resolve(opts.venv),
        python: opts.python,
        log: (l) => process.stderr.write(`  ${l}\n`),
      });
      const env = await runTrainer('env', [], { venv: r.venv });
      process.stderr.write(
        `${r.installed ? `installed in ${((Date.now() - t0) / 1000).toFixed(0)} s` : 'up to date'}: ${r.venv} (torch ${String(env['torch'])}, transformers ${String(env['transformers'])}, peft ${String(env['peft'])}; ${env['cuda'] ? `CUDA: ${String(env['device'])}` : 'CPU'})\n`,
      );
    });
  trainer
    .command('env')
    .description("print the trainer's versions and device as JSON")
    .addOption(venvOption('its virtual environment'))
    .action(async (opts: { venv: string }) => {
      const env = await runTrainer('env', [], { venv: opts.venv });
      printJson(env);
    });
}

function addBenchAdapterCheckCommand(bench: Command, ctx: TrainCliContext): void {
  bench
    .command('adapter-check')
    .description(
      'the export check of an adapter made by train-lora: node-llama-cpp with the adapter on the quantized base vs PyTorch, answer log-probabilities on held-out records',
    )
    .argument(
      '<records>',
      "held-out labeled records (prompts are rendered with the adapter's template, relation set and answer form)",
    )
    .requiredOption(
      '--lora <adapter.gguf>',
      'the adapter (its manifest names the template and the answer form)',
    )
    .option('--model <path|uri|id>', 'the base GGUF model')
    .option('--relations <file>', 'relation set (default: the one the input format defines)')
    .option('--template <name|file>', "prompt template (default: the manifest's)")
    .addOption(limitOption('prompts', 'n', { default: 50 }))
    .addOption(venvOption("the trainer's virtual environment"))
    .option('--json', 'print one JSON object')
    .action((input: string, opts: AdapterCheckCommandOptions) =>
      adapterCheckCommand(ctx, input, opts),
    );
}
