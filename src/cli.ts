/**
 * relation-lens: the headless face of the core (import, export, eval, extract, extract-doc, index,
 * train-filter, bench, validate).
 * Exit codes: 0 success; 1 fatal error (nothing written); 2 usage error; 3 written, but some
 * input units were skipped because of errors (each reported with file and line).
 */
import { Command, Option } from 'commander';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Diagnostic, InputError, formatDiagnostic, summarize } from './core/diagnostics';
import { serializeRecord } from './core/formats/canonical';
import { exportChineseTsv } from './core/formats/chineseTsv';
import { exportDoccano } from './core/formats/doccano';
import { parseRelInfo, relationSetFromRelInfo, toDocRedSubmission } from './core/formats/docred';
import { exportSemEvalAnswers, exportSemEvalTxt } from './core/formats/semeval';
import { exportSftAlpaca, exportSftChat } from './core/formats/sft';
import { EvalResult, docGoldOf, docPredsOf, evaluateDocRed, evaluateMicro, evaluateSemEval, parseAnswers, semevalAnswers } from './core/eval';
import { BUILTIN_TEMPLATES, PromptTemplate, parseTemplate } from './core/prompts/template';
import { RelationSet } from './core/schema';
import { readHead, readText, setReadProgress, writeFileAtomic } from './node/files';
import { IMPORT_FORMATS, ImportFormat, detectFormat, loadDocRedSubmission, loadRecords, loadRelationSet } from './node/load';
import { ProgressBar, RateBar } from './node/progress';
import { DecodeMode, DirectionMode } from './core/pipelines/sentence';
import { LlamaEngine, parseLoraArg, runtimeVersions } from './engine/llama';
import { RunRecord, appendRunRecord, fileDigest, textSha256 } from './node/provenance';
import { DEFAULT_MODEL_ID, resolveModel } from './engine/models';
import { runExtractJob } from './node/extract';
import { addTrainingCommands } from './cliTrain';
import { checkAdapters } from './node/adapters';
import { lockOutput, openRecordOutput, prepareReplace, usingOutput } from './node/output';
import { onInterrupt } from './node/interrupt';
import { buildIndex, indexFolderState, loadIndex } from './node/ragIndex';
import { benchThroughput } from './node/bench';
import { TrainingRetriever } from './core/retrieval/retriever';
import { sentenceSpace } from './node/jobs';
import { addDocumentCommands } from './cliDoc';

const EXPORT_FORMATS = ['jsonl', 'semeval', 'semeval-txt', 'docred', 'sft-alpaca', 'sft-chat', 'finre', 'sanwen', 'doccano'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

const MAX_SHOWN = 20;
let exitCode = 0;

function report(diagnostics: Diagnostic[]): void {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  diagnostics.slice(0, MAX_SHOWN).forEach((d) => process.stderr.write(formatDiagnostic(d) + '\n'));
  if (diagnostics.length > MAX_SHOWN) process.stderr.write(`… and ${diagnostics.length - MAX_SHOWN} more problem(s)\n`);
  if (errors.length) exitCode = 3;
}

async function load(file: string, opts: { format?: ImportFormat; relations?: string; relInfo?: string }, allowNothing = false) {
  const bar = new ProgressBar(`reading ${path.basename(file)}`);
  setReadProgress((read, total) => bar.update(read, total));
  try {
    const r = await loadRecords(file, opts);
    bar.stop();
    report(r.diagnostics);
    process.stderr.write(summarize(file, { items: r.records, skipped: r.skipped, diagnostics: r.diagnostics }) + '\n');
    if (r.records.length === 0 && r.skipped > 0 && !allowNothing) {
      // Nothing could be read: the wrong format, most likely. Fatal, so nothing empty is written.
      const looks = opts.format ? await detectFormat(file).catch(() => undefined) : undefined;
      throw new InputError(`no record could be read as ${r.format} (${r.skipped} unit(s) skipped)${looks && looks !== r.format ? `; the file looks like ${looks} (--from ${looks})` : ''}; nothing was written`, file);
    }
    return r;
  } finally {
    bar.stop();
    setReadProgress(undefined);
  }
}

async function resolveTemplate(name: string | undefined): Promise<PromptTemplate> {
  if (!name) return BUILTIN_TEMPLATES['default']!;
  const builtin = BUILTIN_TEMPLATES[name];
  if (builtin) return builtin;
  const exists = await fs.stat(name).then(() => true, () => false);
  if (!exists) throw new InputError(`no built-in template named "${name}" (built-in: ${Object.keys(BUILTIN_TEMPLATES).join(', ')}) and no such file`);
  return parseTemplate((await readText(name)).text, name);
}

async function relationSetFor(opts: { relations?: string; relInfo?: string }, fallback?: RelationSet): Promise<RelationSet | undefined> {
  if (opts.relations) return loadRelationSet(opts.relations);
  if (opts.relInfo) return relationSetFromRelInfo(parseRelInfo((await readText(opts.relInfo)).text, opts.relInfo));
  return fallback;
}

/** An index folder may be new, empty, or (with --force) an index this tool built; nothing else. */
async function checkIndexFolder(dir: string, force: boolean | undefined): Promise<void> {
  const state = await indexFolderState(dir);
  if (state === 'foreign') throw new InputError('the folder is not empty and holds no index (manifest.json); choose a new or empty folder', dir);
  if (state === 'index' && !force) throw new InputError('the folder holds an index; pass --force to replace it', dir);
}

function pct(x: number): string {
  return (100 * x).toFixed(2).padStart(6);
}

function printResult(r: EvalResult): void {
  const out: string[] = [];
  out.push(`metric: ${r.metric}${r.metric === 'semeval' ? ' (official: (9+1)-way, directionality taken into account, macro-averaged F1, Other excluded)' : ''}`);
  out.push(`precision ${pct(r.precision)}%   recall ${pct(r.recall)}%   F1 ${pct(r.f1)}%${r.ign_f1 !== undefined ? `   Ign F1 ${pct(r.ign_f1)}%` : ''}`);
  out.push('', `${'relation'.padEnd(32)} ${'P'.padStart(7)} ${'R'.padStart(7)} ${'F1'.padStart(7)} ${'correct'.padStart(8)} ${'pred'.padStart(6)} ${'gold'.padStart(6)}`);
  for (const [label, s] of Object.entries(r.per_relation))
    out.push(`${label.slice(0, 32).padEnd(32)} ${pct(s.precision)}% ${pct(s.recall)}% ${pct(s.f1)}% ${String(s.correct).padStart(8)} ${String(s.predicted).padStart(6)} ${String(s.gold).padStart(6)}`);
  out.push('', 'counts: ' + Object.entries(r.counts).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`).join(' '));
  for (const w of r.warnings) out.push(`warning: ${w}`);
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * Writes an output in one piece under the output policy (src/node/output.ts): never one of the
 * inputs, never an existing file without --force, locked while written, atomic.
 */
async function writeOutput(out: string, inputs: Array<string | undefined>, force: boolean | undefined, data: () => string | Promise<string>): Promise<void> {
  // Locked first, then checked: no other run can create the file in between.
  const unlock = await lockOutput(out);
  try {
    await prepareReplace(out, inputs, force);
    await writeFileAtomic(out, await data());
  } finally {
    await unlock();
  }
}

/** Is this an `ID<TAB>LABEL` answer file (SemEval scorer format)? */
async function isAnswerFile(file: string): Promise<boolean> {
  const first = (await readHead(file, 4096)).split('\n').find((l) => l.trim() !== '') ?? '';
  return /^\d+\t[^"]/.test(first);
}

async function semevalMap(file: string, opts: { format?: ImportFormat }): Promise<Map<string, string>> {
  if (!opts.format && (await isAnswerFile(file))) {
    const lines = parseAnswers((await readText(file)).text, file);
    return new Map(lines.map((l) => [l.id, l.label]));
  }
  const r = await load(file, opts);
  return semevalAnswers(r.records);
}

async function isSubmission(file: string): Promise<boolean> {
  const head = await readHead(file, 4096);
  // An empty array is an empty submission (a system that predicted nothing).
  return (/^\s*\[/.test(head) && /"h_idx"/.test(head)) || /^\s*\[\s*\]\s*$/.test(head);
}

/** The model to use: --model, else $RELATION_LENS_MODEL, else the catalog's default. */
function modelSpec(option: string | undefined): string {
  return option ?? process.env['RELATION_LENS_MODEL'] ?? DEFAULT_MODEL_ID;
}

function positiveNumber(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1) throw new InputError(`${name} must be a number ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}

function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

interface ExtractCliOptions {
  model?: string;
  lora: string[];
  template: string;
  relations?: string;
  from?: ImportFormat;
  mode: DecodeMode;
  direction?: DirectionMode;
  parallel: number;
  threads?: number;
  contextSize: number;
  limit?: number;
  resume: boolean;
  force?: boolean;
  out: string;
  rag?: string;
  k: number;
  scoreMargin: number;
  answers: 'names' | 'codes';
  deterministic?: boolean;
}

async function extractCommand(input: string, opts: ExtractCliOptions): Promise<void> {
  // The output is checked and locked before anything is loaded (and long before the model).
  const output = await openRecordOutput(opts.out, {
    inputs: [input, opts.relations, opts.template, opts.model, opts.rag && path.join(opts.rag, 'manifest.json'), ...opts.lora.map((l) => parseLoraArg(l).path)],
    resume: opts.resume,
    force: opts.force,
  });
  await usingOutput(output, (l) => process.stderr.write(l + '\n'), () => extractInto(output, input, opts));
}

async function extractInto(output: Awaited<ReturnType<typeof openRecordOutput>>, input: string, opts: ExtractCliOptions): Promise<void> {
  if (!opts.from && /\.(txt|md|text)$/i.test(input)) {
    // Plain prose has no entities to classify: that is extract-doc's job.
    const format = await detectFormat(input).catch(() => undefined);
    if (!format) throw new InputError('this looks like plain text without entity annotations; `relation-lens extract-doc` finds the entities and their relations in prose (or pass --from FORMAT for a dataset file)', input);
  }
  const r = await load(input, { format: opts.from, relations: opts.relations });
  const rs = await relationSetFor(opts, r.relationSet);
  if (!rs) throw new InputError('no relation set: pass --relations (a relation-set JSON or relation2id.txt)', input);
  const records = opts.limit ? r.records.slice(0, opts.limit) : r.records;
  const template = await resolveTemplate(opts.template);
  const { space, direction } = sentenceSpace(rs, opts.direction);
  const controller = new AbortController();
  const stopListening = onInterrupt(controller, 'stopping after the records in flight (Ctrl-C again to stop at once); run the same command again to resume');
  let rag: Awaited<ReturnType<typeof loadIndex>> | undefined;
  if (opts.rag) {
    rag = await loadIndex(opts.rag, { threads: opts.threads });
    process.stderr.write(`retrieval: ${rag.manifest.kind} index of ${rag.manifest.count} examples (${opts.rag}), k=${opts.k}\n`);
  } else if (opts.mode === 'knn') throw new InputError('--mode knn needs --rag INDEX');
  const retriever = rag ? new TrainingRetriever(rag.examples, rag.searcher, space) : undefined;
  let engine: LlamaEngine | undefined;
  const provenance: Record<string, unknown> = {};
  const spec = opts.mode === 'knn' ? 'knn' : modelSpec(opts.model);
  if (opts.mode !== 'knn') {
    const dl = new ProgressBar(`downloading ${spec}`);
    const modelPath = await resolveModel(spec, { signal: controller.signal, onProgress: (d, t) => dl.update(d, t) });
    dl.stop();
    for (const w of await checkAdapters(opts.lora.map(parseLoraArg), { modelPath, relationSet: rs, template, answers: opts.answers })) process.stderr.write(`warning: ${w}\n`);
    engine = await LlamaEngine.open({ modelPath, loras: opts.lora.map(parseLoraArg), threads: opts.threads, parallel: opts.deterministic ? 1 : opts.parallel, contextSize: opts.contextSize, signal: controller.signal });
    const i = engine.info;
    process.stderr.write(`engine: ${i.backend}, ${i.threads} thread(s), ${i.parallel} sequence(s) × ${i.contextSize} tokens${opts.deterministic ? ' (deterministic)' : ''}; model ${modelPath}${i.adapters.length ? `; LoRA ${i.adapters.map((a) => `${a.path}:${a.scale}`).join(', ')}` : ''}\n`);
    provenance['model'] = { spec, ...(await fileDigest(modelPath)) };
    provenance['adapters'] = await Promise.all(i.adapters.map(async (a) => ({ ...(await fileDigest(a.path)), scale: a.scale })));
    provenance['engine'] = { backend: i.backend, threads: i.threads, parallel: i.parallel, contextSize: i.contextSize, ...(await runtimeVersions()) };
  }
  process.stderr.write(`relation set ${rs.name} (${rs.labels.length} labels${rs.noRelation ? ` + ${rs.noRelation}` : ''}), template ${template.name}, mode ${opts.mode}, direction ${direction}\n`);
  const bar = new RateBar('extracting');
  let last: { records: number; totalRecords: number } | undefined;
  const run: RunRecord = { command: process.argv.slice(2).join(' '), started: new Date().toISOString(), finished: '', status: 'failed', records: { written: 0, resumed: output.done.size } };
  Object.assign(provenance, {
    input: await fileDigest(input),
    template: { name: template.name, sha256: textSha256(JSON.stringify(template)) },
    relationSet: { name: rs.name, sha256: textSha256(JSON.stringify(rs)) },
    settings: { mode: opts.mode, answers: opts.answers, direction, rag: opts.rag ?? null, k: opts.rag ? opts.k : null, scoreMargin: opts.scoreMargin, limit: opts.limit ?? null, deterministic: !!opts.deterministic },
  });
  try {
    const p = await runExtractJob({
      engine,
      records,
      relationSet: rs,
      template,
      mode: opts.mode,
      direction,
      out: opts.out,
      resume: opts.resume,
      output,
      model: spec,
      retriever,
      k: opts.k,
      scoreMargin: opts.scoreMargin,
      answerCodes: opts.answers === 'codes',
      signal: controller.signal,
      onProgress: (pr) => {
        last = pr;
        bar.update(pr.pairs, pr.totalPairs, pr.elapsedMs);
      },
    }).finally(() => bar.stop());
    run.status = 'completed';
    if (p.skippedRecords) process.stderr.write(`resumed: ${p.skippedRecords} record(s) were already in ${opts.out} (kept as they are)\n`);
    if (p.totalRecords === 0) {
      process.stderr.write(`nothing to do: all ${p.skippedRecords} record(s) are in ${opts.out} already (--no-resume --force starts over)\n`);
      return;
    }
    for (const e of p.errors.slice(0, MAX_SHOWN)) process.stderr.write(`error: ${e}\n`);
    if (p.errors.length) exitCode = 3;
    const rate = p.elapsedMs > 0 ? (1000 * p.pairs) / p.elapsedMs : 0;
    process.stderr.write(`wrote ${p.records} record(s) (${p.pairs} pair(s), ${rate.toFixed(2)} examples/s) to ${opts.out}\n`);
    if (controller.signal.aborted) {
      process.stderr.write(`interrupted: ${p.records} of ${p.totalRecords} record(s) done; run the same command again to resume\n`);
      exitCode = 130;
      run.status = 'interrupted';
    }
  } catch (e) {
    if (!(controller.signal.aborted && (e as Error).name === 'AbortError')) throw e;
    process.stderr.write(`interrupted: ${last?.records ?? 0} record(s) written to ${opts.out}${last ? ` (${last.totalRecords - last.records} left)` : ''}; run the same command again to resume\n`);
    exitCode = 130;
    run.status = 'interrupted';
  } finally {
    stopListening();
    run.finished = new Date().toISOString();
    run.records.written = last?.records ?? 0;
    await appendRunRecord(opts.out, { ...run, ...provenance }).catch((e: Error) => process.stderr.write(`warning: the run record was not written: ${e.message}\n`));
    await engine?.dispose();
    await rag?.dispose();
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('relation-lens')
    .description('Relation extraction with local LLMs: import, validate and export datasets, extract relations (sentence and document level), train LoRA adapters on curated data, build retrieval indexes, score as the official scorers do, and benchmark (the headless core of the Relation Lens VS Code extension).')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('import')
    .description('convert a dataset file into canonical JSONL')
    .argument('<in>', 'input file')
    .addOption(new Option('--from <format>', 'input format (detected when omitted)').choices([...IMPORT_FORMATS]))
    .addOption(new Option('--format <format>', 'the same as --from (older name)').choices([...IMPORT_FORMATS]).hideHelp())
    .option('--relations <file>', 'relation2id.txt (FinRE/SanWen) or a relation-set JSON')
    .option('--rel-info <file>', 'rel_info.json (DocRED): relation ids to names')
    .option('--relation-set-out <file>', 'also write the relation set the input defines')
    .option('--force', 'replace output files that exist')
    .requiredOption('-o, --out <file>', 'output JSONL')
    .action(async (input: string, o: { from?: ImportFormat; format?: ImportFormat; relations?: string; relInfo?: string; out: string; relationSetOut?: string; force?: boolean }) => {
      const opts = { ...o, format: o.from ?? o.format };
      const inputs = [input, opts.relations, opts.relInfo];
      if (opts.relationSetOut && path.resolve(opts.relationSetOut) === path.resolve(opts.out)) throw new InputError('--relation-set-out and -o name the same file', opts.out);
      await prepareReplace(opts.out, inputs, opts.force);
      if (opts.relationSetOut) await prepareReplace(opts.relationSetOut, inputs, opts.force);
      const r = await load(input, opts);
      if (opts.relationSetOut && !r.relationSet) throw new InputError(`the ${r.format} input defines no relation set (pass --relations or --rel-info)`);
      await writeOutput(opts.out, inputs, opts.force, () => r.records.map((x) => serializeRecord(x) + '\n').join(''));
      process.stderr.write(`wrote ${r.records.length} record(s) to ${opts.out}\n`);
      if (opts.relationSetOut) await writeOutput(opts.relationSetOut, inputs, opts.force, () => JSON.stringify(r.relationSet, null, 2) + '\n');
    });

  program
    .command('export')
    .description('write records in another format')
    .argument('<in>', 'input (canonical JSONL or any importable format)')
    .addOption(new Option('--format <format>', 'output format').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .addOption(new Option('--from <format>', 'input format (detected when omitted)').choices([...IMPORT_FORMATS]))
    .option('--template <name|file>', 'prompt template for sft-* formats (built-in: default)')
    .option('--relations <file>', 'relation set (labels and descriptions for prompts; ids for DocRED)')
    .option('--rel-info <file>', 'rel_info.json: maps names back to DocRED relation ids')
    .option('--force', 'replace the output file if it exists')
    .requiredOption('-o, --out <file>', 'output file')
    .action(async (input: string, opts: { format: ExportFormat; from?: ImportFormat; template?: string; relations?: string; relInfo?: string; out: string; force?: boolean }) => {
      const inputs = [input, opts.template, opts.relations, opts.relInfo];
      await prepareReplace(opts.out, inputs, opts.force);
      const r = await load(input, { format: opts.from, relations: opts.relations, relInfo: opts.relInfo });
      const rs = await relationSetFor(opts, r.relationSet);
      let data: string;
      switch (opts.format) {
        case 'jsonl':
          data = r.records.map((x) => serializeRecord(x) + '\n').join('');
          break;
        case 'semeval':
          data = exportSemEvalAnswers(r.records);
          break;
        case 'semeval-txt':
          data = exportSemEvalTxt(r.records);
          break;
        case 'docred':
          data = JSON.stringify(toDocRedSubmission(r.records, rs)) + '\n';
          break;
        case 'sft-alpaca':
          data = exportSftAlpaca(r.records, await resolveTemplate(opts.template), rs);
          break;
        case 'sft-chat':
          data = exportSftChat(r.records, await resolveTemplate(opts.template), rs);
          break;
        case 'finre':
          data = exportChineseTsv(r.records, rs?.noRelation ?? 'unknown', true);
          break;
        case 'sanwen':
          data = exportChineseTsv(r.records, rs?.noRelation ?? 'unknown', false);
          break;
        case 'doccano':
          data = exportDoccano(r.records);
          break;
      }
      await writeOutput(opts.out, inputs, opts.force, () => data);
      process.stderr.write(`wrote ${opts.format} to ${opts.out}\n`);
    });

  program
    .command('eval')
    .description('score predictions against gold, as the official scorers do')
    .addOption(new Option('--metric <metric>', 'micro (TACRED-style), semeval (official), docred (F1 / Ign F1)').choices(['micro', 'semeval', 'docred']).makeOptionMandatory())
    .requiredOption('--gold <file>', 'gold file (native format or canonical JSONL)')
    .requiredOption('--pred <file>', 'predictions (SemEval answer file, DocRED submission JSON, or canonical JSONL)')
    .option('--train <file>', 'DocRED training file (for Ign F1)')
    .option('--relations <file>', 'relation set (no-relation label; DocRED relation ids)')
    .option('--rel-info <file>', 'rel_info.json (DocRED)')
    .addOption(new Option('--gold-format <format>', 'gold format (detected when omitted)').choices([...IMPORT_FORMATS]))
    .addOption(new Option('--pred-format <format>', 'prediction format (detected when omitted)').choices([...IMPORT_FORMATS]))
    .option('--only-predicted', 'score only the gold examples (documents) the predictions cover, e.g. a run with --limit')
    .option('--json', 'print one JSON object')
    .action(async (opts: { metric: 'micro' | 'semeval' | 'docred'; gold: string; pred: string; train?: string; relations?: string; relInfo?: string; goldFormat?: ImportFormat; predFormat?: ImportFormat; onlyPredicted?: boolean; json?: boolean }) => {
      let result: EvalResult;
      if (opts.metric === 'semeval') {
        let gold = await semevalMap(opts.gold, { format: opts.goldFormat });
        const pred = await semevalMap(opts.pred, { format: opts.predFormat });
        if (opts.onlyPredicted) gold = new Map([...gold].filter(([id]) => pred.has(id)));
        result = evaluateSemEval(gold, pred, opts.pred);
      } else if (opts.metric === 'docred') {
        const g = await load(opts.gold, { format: opts.goldFormat, relInfo: opts.relInfo });
        const rs = await relationSetFor(opts, g.relationSet);
        const gold = docGoldOf(g.records, rs);
        let preds;
        if (!opts.predFormat && (await isSubmission(opts.pred))) {
          const s = await loadDocRedSubmission(opts.pred);
          report(s.diagnostics);
          preds = s.predictions;
        } else preds = docPredsOf((await load(opts.pred, { format: opts.predFormat, relInfo: opts.relInfo })).records, rs);
        const train = opts.train ? docGoldOf((await load(opts.train, { relInfo: opts.relInfo })).records, rs) : undefined;
        const titles = new Set(preds.map((x) => x.title));
        result = evaluateDocRed(opts.onlyPredicted ? gold.filter((d) => titles.has(d.title)) : gold, preds, train);
        const uncovered = gold.filter((d) => !titles.has(d.title)).length;
        if (uncovered && !opts.onlyPredicted) result.warnings.push(`${uncovered} of ${gold.length} gold document(s) have no prediction: their facts count as misses in recall (score only the predicted documents with --only-predicted)`);
      } else {
        const g = await load(opts.gold, { format: opts.goldFormat, relations: opts.relations });
        const p = await load(opts.pred, { format: opts.predFormat, relations: opts.relations });
        const ids = new Set(p.records.map((x) => x.id));
        result = evaluateMicro(opts.onlyPredicted ? g.records.filter((x) => ids.has(x.id)) : g.records, p.records, await relationSetFor(opts, g.relationSet));
        // evaluateMicro warns about gold records without a prediction; say how to leave them out.
        if (!opts.onlyPredicted && g.records.some((x) => !ids.has(x.id))) result.warnings.push('score only the predicted records with --only-predicted');
      }
      if (opts.json) {
        const { metric, precision, recall, f1, ign_f1, per_relation, confusion, counts, warnings } = result;
        process.stdout.write(JSON.stringify({ metric, precision, recall, f1, ...(ign_f1 !== undefined ? { ign_f1 } : {}), per_relation, confusion, counts, warnings }) + '\n');
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      } else printResult(result);
    });

  program
    .command('extract')
    .description('classify the entity pairs of each record with a local LLM (sentence level)')
    .argument('<in>', 'records (canonical JSONL or any importable format)')
    .option('--model <path|uri|id>', 'GGUF file, hf: URI, https URL or catalog id (default: $RELATION_LENS_MODEL, else the catalog default)')
    .option('--lora <file[:scale]>', 'LoRA adapter GGUF with an optional scale (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--template <name|file>', 'prompt template: default, rag4re, cre-llm, or a file', 'default')
    .option('--relations <file>', 'relation set (JSON or relation2id.txt); default: the one the input format defines')
    .addOption(new Option('--from <format>', 'input format (detected when omitted)').choices([...IMPORT_FORMATS]))
    .addOption(new Option('--mode <mode>', 'score: label log-probabilities; generate: grammar-constrained generation; knn: nearest-neighbour vote over --rag (no LLM)').choices(['score', 'generate', 'knn']).default('score'))
    .option('--rag <index>', 'retrieval index folder (relation-lens index build): add the k nearest training examples as demonstrations')
    .option('--k <n>', 'demonstrations per prompt with --rag', (v) => positiveInt(v, '--k'), 5)
    .option('--score-margin <ratio>', 'score mode: labels within this factor of the best are scored exactly, the others keep an upper bound (1 = only what the argmax needs)', (v) => positiveNumber(v, '--score-margin'), 1e4)
    .addOption(new Option('--answers <form>', 'names: the model answers with the relation name; codes: with a one-token code (A, B, …) listed next to each name — score mode then reads one distribution per example').choices(['names', 'codes']).default('names'))
    .addOption(new Option('--direction <how>', 'label: answers carry (e1,e2)/(e2,e1) (SemEval); pair: the pair order is head → tail').choices(['label', 'pair']))
    .option('--parallel <n>', 'parallel sequences', (v) => positiveInt(v, '--parallel'), 2)
    .option('--deterministic', 'the same labels and scores on every run: one sequence, so batches never mix examples (slower)')
    .option('--threads <n>', 'CPU threads (default: the math cores)', (v) => positiveInt(v, '--threads'))
    .option('--context-size <n>', 'context size per sequence', (v) => positiveInt(v, '--context-size'), 2048)
    .option('--limit <n>', 'only the first N records', (v) => positiveInt(v, '--limit'))
    .option('--no-resume', 'start over instead of resuming after the records already in the output (needs --force when the output exists)')
    .option('--force', 'with --no-resume: replace an existing output; also replace a file that is not a Relation Lens output')
    .requiredOption('-o, --out <file>', 'output JSONL (written as records finish)')
    .action(async (input: string, opts: ExtractCliOptions) => {
      await extractCommand(input, opts);
    });

  const index = program.command('index').description('retrieval indexes for RAG4RE');
  index
    .command('build')
    .description('index a labeled training file for retrieval')
    .argument('<train>', 'labeled records (canonical JSONL or any importable format)')
    .option('--embedder <kind>', 'bm25 (no model), llm (the --model LLM), or gguf:PATH (an embedding model)', 'bm25')
    .option('--model <path|uri|id>', 'the LLM for --embedder llm')
    .option('--relations <file>', 'relation set (its no-relation label)')
    .addOption(new Option('--from <format>', 'input format (detected when omitted)').choices([...IMPORT_FORMATS]))
    .option('--threads <n>', 'CPU threads', (v) => positiveInt(v, '--threads'))
    .option('--force', 'replace an index that exists in the folder')
    .requiredOption('-o, --out <dir>', 'index folder')
    .action(async (train: string, opts: { embedder: string; model?: string; relations?: string; from?: ImportFormat; threads?: number; out: string; force?: boolean }) => {
      await checkIndexFolder(opts.out, opts.force);
      const r = await load(train, { format: opts.from, relations: opts.relations });
      const rs = await relationSetFor(opts, r.relationSet);
      const model = opts.embedder === 'llm' ? await resolveModel(modelSpec(opts.model)) : undefined;
      const bar = new RateBar('embedding');
      const t0 = Date.now();
      const m = await buildIndex(r.records, rs?.noRelation, opts.out, { embedder: opts.embedder, model, source: train, threads: opts.threads, onProgress: (d, t) => bar.update(d, t, Date.now() - t0) }).finally(() => bar.stop());
      process.stderr.write(`indexed ${m.count} example(s) (${m.kind}${m.dimension ? `, ${m.dimension} dimensions` : ''}) in ${opts.out}\n`);
    });

  const bench = program.command('bench').description('benchmarks (ratios measured in one run)');
  bench
    .command('throughput')
    .description('naive (full prompt per example, free generation) vs optimized (prefix reuse + parallel sequences + label scoring)')
    .option('--model <path|uri|id>', 'GGUF model (default: $RELATION_LENS_MODEL, else the catalog default)')
    .option('--data <file>', 'sentences to classify (SemEval TXT or any importable format)', 'samples/semeval-sample.txt')
    .option('--n <n>', 'examples of the optimized side', (v) => positiveInt(v, '--n'), 32)
    .option('--naive-n <n>', 'examples of the naive side (its cost per example is constant; default: --n)', (v) => positiveInt(v, '--naive-n'))
    .option('--parallel <n>', 'parallel sequences of the optimized side', (v) => positiveInt(v, '--parallel'), 4)
    .option('--threads <n>', 'CPU threads', (v) => positiveInt(v, '--threads'))
    .option('--template <name|file>', 'prompt template', 'default')
    .addOption(new Option('--mode <mode>', 'decoding of the optimized side').choices(['score', 'generate']).default('score'))
    .option('--score-margin <ratio>', 'score mode: labels within this factor of the best are scored exactly (1 = only the argmax)', (v) => positiveNumber(v, '--score-margin'), 1e4)
    .addOption(new Option('--answers <form>', 'answers of the optimized side: relation names or one-token codes').choices(['names', 'codes']).default('names'))
    .option('--json', 'print one JSON object')
    .action(async (opts: { model?: string; data: string; n: number; naiveN?: number; parallel: number; threads?: number; template: string; mode: DecodeMode; scoreMargin: number; answers: 'names' | 'codes'; json?: boolean }) => {
      const r = await load(opts.data, {});
      const modelPath = await resolveModel(modelSpec(opts.model));
      const res = await benchThroughput({ modelPath, records: r.records, n: opts.n, naiveN: opts.naiveN, parallel: opts.parallel, threads: opts.threads, template: await resolveTemplate(opts.template), relationSet: r.relationSet, mode: opts.mode, scoreMargin: opts.scoreMargin, answerCodes: opts.answers === 'codes', log: (s) => process.stderr.write(s + '\n') });
      if (opts.json) process.stdout.write(JSON.stringify(res) + '\n');
      else {
        const row = (k: string, v: string) => `${k.padEnd(40)} ${v}`;
        process.stdout.write(
          [
            row('model', res.model),
            row('examples opt / naive; threads; parallel', `${res.n} / ${res.naive_n}; ${res.threads}; ${res.parallel}`),
            row('prompt tokens (one example)', String(res.prompt_tokens)),
            row('naive examples/s', res.naive_examples_per_s.toFixed(3)),
            row(`optimized (${res.optimized_mode}${res.answer_codes ? ', answer codes' : res.optimized_mode === 'score' ? `, margin ${res.score_margin}` : ''}) examples/s`, res.optimized_examples_per_s.toFixed(3)),
            row('speedup (optimized ÷ naive)', `${res.speedup.toFixed(2)}×`),
            row('tokens evaluated per example naive/opt', `${res.naive_tokens_per_example.toFixed(1)} / ${res.optimized_tokens_per_example.toFixed(1)}`),
            row('raw prompt eval tokens/s (limit)', res.raw_prompt_eval_tokens_per_s.toFixed(1)),
            row('optimized tokens/s ÷ limit', res.limit_fraction.toFixed(3)),
            row('same-shape chunk eval tokens/s', res.chunk_eval_tokens_per_s.toFixed(1)),
            row('optimized tokens/s ÷ same-shape rate', res.chunk_limit_fraction.toFixed(3)),
          ].join('\n') + '\n',
        );
      }
    });

  const ctx = {
    load,
    modelSpec,
    positiveInt,
    setExitCode: (c: number) => {
      exitCode = Math.max(exitCode, c);
    },
  };
  addDocumentCommands(program, bench, ctx);
  addTrainingCommands(program, bench, { ...ctx, resolveTemplate, relationSetFor });

  program
    .command('validate')
    .description('check a file and report every problem with its line')
    .argument('<in>', 'input file')
    .addOption(new Option('--from <format>', 'input format (detected when omitted)').choices([...IMPORT_FORMATS]))
    .addOption(new Option('--format <format>', 'the same as --from (older name)').choices([...IMPORT_FORMATS]).hideHelp())
    .option('--relations <file>', 'relation2id.txt or relation-set JSON')
    .option('--rel-info <file>', 'rel_info.json (DocRED)')
    .action(async (input: string, o: { from?: ImportFormat; format?: ImportFormat; relations?: string; relInfo?: string }) => {
      await load(input, { ...o, format: o.from ?? o.format }, true);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    process.stderr.write(`relation-lens: ${e.message ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => process.exit(code));
}
