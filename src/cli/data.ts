/**
 * The data commands of the CLI: import, export, eval, validate. Registered on the program built
 * in cli.ts.
 */
import { Command, Option } from 'commander';
import {
  cliOption,
  fromOption,
  load,
  printJson,
  relationSetFor,
  report,
  resolveTemplate,
} from './common';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { RelRecord, RelationSet } from '../core/schema';
import { NEARBY_RELATION_SETS, resolveRelationSet } from '../node/resources';
import { serializeRecord } from '../core/formats/canonical';
import { exportChineseTsv } from '../core/formats/chineseTsv';
import { exportDoccano } from '../core/formats/doccano';
import { toDocRedSubmission } from '../core/formats/docred';
import { exportSemEvalAnswers, exportSemEvalTxt } from '../core/formats/semeval';
import { exportSftAlpaca, exportSftChat } from '../core/formats/sft';
import {
  EvalResult,
  docGoldOf,
  docPredsOf,
  textPredsOf,
  dropIgnored,
  evaluateDocRed,
  evaluateMicro,
  evaluateSemEval,
  parseAnswers,
  semevalAnswers,
} from '../core/eval';
import { readHead, readText } from '../node/files';
import { IMPORT_FORMATS, ImportFormat, loadDocRedSubmission } from '../node/load';
import { lockOutput, outputName, prepareReplace, writeOutput } from '../node/output';
import { exportOpenAiBatch, importOpenAiBatchResults } from './batch';
import { SERVER_FLAVORS, ServerFlavor } from '../core/ports';
import { DirectionMode } from '../core/pipelines/answerSpace';
import { exportBrat } from '../core/formats/brat';
import { exportLabelStudio } from '../core/formats/labelStudio';

const EXPORT_FORMATS = [
  'jsonl',
  'semeval',
  'semeval-txt',
  'docred',
  'sft-alpaca',
  'sft-chat',
  'finre',
  'sanwen',
  'doccano',
  'label-studio',
  'brat',
  'openai-batch',
] as const;
/** import reads the dataset formats, and the results of an OpenAI batch made by export. */
const IMPORT_CHOICES = [...IMPORT_FORMATS, 'openai-batch-results'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function pct(x: number): string {
  return (100 * x).toFixed(2).padStart(6);
}

export function printResult(r: EvalResult): void {
  const out: string[] = [];
  out.push(
    `metric: ${r.metric}${r.metric === 'semeval' ? ' (official: (9+1)-way, directionality taken into account, macro-averaged F1, Other excluded)' : ''}`,
  );
  out.push(
    `precision ${pct(r.precision)}%   recall ${pct(r.recall)}%   F1 ${pct(r.f1)}%${r.ign_f1 !== undefined ? `   Ign F1 ${pct(r.ign_f1)}%` : ''}`,
  );
  out.push(
    '',
    `${'relation'.padEnd(32)} ${'P'.padStart(7)} ${'R'.padStart(7)} ${'F1'.padStart(7)} ${'correct'.padStart(8)} ${'pred'.padStart(6)} ${'gold'.padStart(6)}`,
  );
  for (const [label, s] of Object.entries(r.per_relation))
    out.push(
      `${label.slice(0, 32).padEnd(32)} ${pct(s.precision)}% ${pct(s.recall)}% ${pct(s.f1)}% ${String(s.correct).padStart(8)} ${String(s.predicted).padStart(6)} ${String(s.gold).padStart(6)}`,
    );
  out.push(
    '',
    'counts: ' +
      Object.entries(r.counts)
        .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
        .join(' '),
  );
  for (const w of r.warnings) out.push(`warning: ${w}`);
  process.stdout.write(out.join('\n') + '\n');
}

/** Is this an `ID<TAB>LABEL` answer file (SemEval scorer format)? */
async function isAnswerFile(file: string): Promise<boolean> {
  const first = (await readHead(file, 4096)).split('\n').find((l) => l.trim() !== '') ?? '';
  return /^\d+\t[^"]/.test(first);
}

/** A SemEval answer map, and the ids a curator set aside (ignored records or pairs: not scored). */
async function semevalMap(
  file: string,
  opts: { format?: ImportFormat },
): Promise<{ answers: Map<string, string>; ignored: Set<string> }> {
  if (!opts.format && (await isAnswerFile(file))) {
    const lines = parseAnswers((await readText(file)).text, file);
    return { answers: new Map(lines.map((l) => [l.id, l.label])), ignored: new Set() };
  }
  const r = await load(file, opts);
  const kept = dropIgnored(r.records, []).gold;
  const all = semevalAnswers(r.records);
  const answers = semevalAnswers(kept);
  return { answers, ignored: new Set([...all.keys()].filter((id) => !answers.has(id))) };
}

async function isSubmission(file: string): Promise<boolean> {
  const head = await readHead(file, 4096);
  // An empty array is an empty submission (a system that predicted nothing).
  return (/^\s*\[/.test(head) && /"h_idx"/.test(head)) || /^\s*\[\s*\]\s*$/.test(head);
}

export function addDataCommands(program: Command): void {
  addImportCommand(program);
  addExportCommand(program);
  addEvalCommand(program);
  addValidateCommand(program);
}

type ImportCommandOptions = {
  from?: ImportFormat | 'openai-batch-results';
  format?: ImportFormat | 'openai-batch-results';
  relations?: string;
  relInfo?: string;
  out: string;
  relationSetOut?: string;
  force?: boolean;
  batch?: string;
  json?: boolean;
};

async function importCommand(input: string, o: ImportCommandOptions): Promise<void> {
  const chosen = o.from ?? o.format;
  if (chosen === 'openai-batch-results') return importOpenAiBatchResults(input, o);
  if (o.batch) throw new InputError('--batch goes with --from openai-batch-results');
  const opts = { ...o, format: chosen };
  const inputs = [input, opts.relations, opts.relInfo];
  if (opts.relationSetOut && path.resolve(opts.relationSetOut) === path.resolve(opts.out))
    throw new InputError('--relation-set-out and -o name the same file', opts.out);
  await prepareReplace(opts.out, inputs, opts.force);
  if (opts.relationSetOut) await prepareReplace(opts.relationSetOut, inputs, opts.force);
  const r = await load(input, opts);
  if (opts.relationSetOut && !r.relationSet)
    throw new InputError(
      `the ${r.format} input defines no relation set (pass --relations or --rel-info)`,
    );
  await writeOutput(opts.out, inputs, opts.force, () =>
    r.records.map((x) => serializeRecord(x) + '\n').join(''),
  );
  process.stderr.write(`wrote ${r.records.length} record(s) to ${outputName(opts.out)}\n`);
  if (opts.json)
    printJson({
      input,
      format: r.format,
      read: r.records.length,
      skipped: r.skipped,
      diagnostics: r.diagnostics.length,
      out: opts.out,
      ...(opts.relationSetOut ? { relationSetOut: opts.relationSetOut } : {}),
    });
  if (opts.relationSetOut)
    await writeOutput(
      opts.relationSetOut,
      inputs,
      opts.force,
      () => JSON.stringify(r.relationSet, null, 2) + '\n',
    );
}

type ExportCommandOptions = {
  format: ExportFormat;
  from?: ImportFormat;
  template?: string;
  relations?: string;
  relInfo?: string;
  out: string;
  force?: boolean;
  servedModel?: string;
  serverFlavor?: ServerFlavor;
  answers?: 'names' | 'codes';
  direction?: DirectionMode;
  json?: boolean;
};

async function exportCommand(input: string, opts: ExportCommandOptions): Promise<void> {
  if (opts.format === 'openai-batch') return exportOpenAiBatch(input, opts);
  if (opts.format === 'brat') return exportBratCommand(input, opts);
  const inputs = [input, opts.template, opts.relations, opts.relInfo];
  await prepareReplace(opts.out, inputs, opts.force);
  const r = await load(input, {
    format: opts.from,
    relations: opts.relations,
    relInfo: opts.relInfo,
  });
  const rs = await relationSetFor(opts, r.relationSet, input);
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
    case 'sft-chat':
      data = (opts.format === 'sft-chat' ? exportSftChat : exportSftAlpaca)(
        r.records,
        await resolveTemplate(opts.template),
        await sftRelationSet(input, opts, r.records, rs),
      );
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
    case 'label-studio':
      data = exportLabelStudio(r.records);
      break;
    default:
      throw new InputError(`unknown export format ${opts.format}`);
  }
  await writeOutput(opts.out, inputs, opts.force, () => data);
  process.stderr.write(`wrote ${opts.format} to ${outputName(opts.out)}\n`);
  if (opts.json)
    printJson({ input, format: opts.format, records: r.records.length, out: opts.out });
}

/**
 * export --format brat: a folder (NAME.txt + NAME.ann per record, annotation.conf, visual.conf),
 * written beside the output and moved into place when complete; an existing folder is replaced
 * only with --force, and only when it holds nothing but brat files.
 */
async function exportBratCommand(input: string, opts: ExportCommandOptions): Promise<void> {
  const out = path.resolve(opts.out);
  // Locked first, then checked (the output policy of writeOutput, for a folder).
  const unlock = await lockOutput(out);
  try {
    await writeBratFolder(input, out, opts);
  } finally {
    await unlock();
  }
}

async function writeBratFolder(
  input: string,
  out: string,
  opts: ExportCommandOptions,
): Promise<void> {
  if (path.resolve(input) === out)
    throw new InputError(
      'the output is also the input of this command; choose another -o',
      opts.out,
    );
  const st = await fs.stat(out).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new InputError(
      '--format brat writes a folder, and this is a file; choose another -o',
      opts.out,
    );
  if (st) {
    const stray = (await fs.readdir(out)).filter((f) => !/\.(txt|ann|conf)$/.test(f));
    if (!opts.force)
      throw new InputError('the folder exists; pass --force to replace it', opts.out);
    if (stray.length)
      throw new InputError(
        `the folder holds files brat export did not write (${stray.slice(0, 3).join(', ')}); choose another -o`,
        opts.out,
      );
  }
  const r = await load(input, {
    format: opts.from,
    relations: opts.relations,
    relInfo: opts.relInfo,
  });
  const files = exportBrat(r.records);
  const work = `${out}.partial-${process.pid}`;
  await fs.rm(work, { recursive: true, force: true });
  await fs.mkdir(work, { recursive: true });
  try {
    for (const f of files) await fs.writeFile(path.join(work, f.name), f.data);
    const old = `${out}.old-${process.pid}`;
    if (st) await fs.rename(out, old);
    await fs.rename(work, out);
    if (st) await fs.rm(old, { recursive: true, force: true });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
  process.stderr.write(`wrote ${r.records.length} record(s) as brat standoff to ${opts.out}/\n`);
  if (opts.json) printJson({ input, format: 'brat', records: r.records.length, out: opts.out });
}

/**
 * The relation set of an SFT export (its prompts list the labels): --relations / --rel-info / the
 * input's own, else as the editor finds one (a relation-set file beside the input, SemEval's when
 * the labels are SemEval's); refused when there is none — a prompt with an empty label list
 * would train the model on nothing.
 */
async function sftRelationSet(
  input: string,
  opts: ExportCommandOptions,
  records: RelRecord[],
  own: RelationSet | undefined,
): Promise<RelationSet> {
  if (own) return own;
  const found = await resolveRelationSet({ nearby: [path.dirname(input)], records });
  if (!found)
    throw new InputError(
      `--format ${opts.format} writes prompts that list the relation labels, and no relation set was found: pass --relations FILE (a relation-set JSON, rel_info.json or relation2id.txt), or put ${NEARBY_RELATION_SETS.join(' or ')} beside the input`,
      input,
    );
  process.stderr.write(`relation set ${found.set.name} from ${found.from}\n`);
  return found.set;
}

type EvalCommandOptions = {
  metric: 'micro' | 'semeval' | 'docred';
  gold: string;
  pred: string;
  train?: string;
  relations?: string;
  relInfo?: string;
  goldFrom?: ImportFormat;
  predFrom?: ImportFormat;
  onlyPredicted?: boolean;
  matchEntities?: 'ids' | 'text';
  json?: boolean;
};

/** eval --metric semeval: answer maps (answer files or records), ignored sentences left out. */
async function evalSemEval(opts: EvalCommandOptions): Promise<EvalResult> {
  const g = await semevalMap(opts.gold, { format: opts.goldFrom });
  const p = await semevalMap(opts.pred, { format: opts.predFrom });
  const out = new Set([...g.ignored, ...p.ignored]);
  const pred = new Map([...p.answers].filter(([id]) => !out.has(id)));
  const gold = new Map(
    [...g.answers].filter(([id]) => !out.has(id) && (!opts.onlyPredicted || pred.has(id))),
  );
  const result = evaluateSemEval(gold, pred, opts.pred);
  if (out.size) process.stderr.write(`${out.size} sentence(s) ignored by a curator: not scored\n`);
  return result;
}

async function evalCommand(opts: EvalCommandOptions): Promise<void> {
  let result: EvalResult;
  if (opts.metric === 'semeval') {
    result = await evalSemEval(opts);
  } else if (opts.metric === 'docred') {
    const g = await load(opts.gold, { format: opts.goldFrom, relInfo: opts.relInfo });
    const rs = await relationSetFor(opts, g.relationSet, opts.gold);
    // Documents and pairs a curator ignored are not scored (submissions have no such marks).
    const gold = docGoldOf(dropIgnored(g.records, []).gold, rs);
    let preds;
    if (!opts.predFrom && (await isSubmission(opts.pred))) {
      const s = await loadDocRedSubmission(opts.pred);
      report(s.diagnostics);
      preds = s.predictions;
    } else {
      const p = dropIgnored(
        g.records,
        (await load(opts.pred, { format: opts.predFrom, relInfo: opts.relInfo })).records,
      ).pred;
      if (opts.matchEntities === 'text') {
        const t = textPredsOf(g.records, p, rs);
        preds = t.preds;
        process.stderr.write(
          `entities found in the texts: ${t.entities}, matched to a gold entity (same span, else same name): ${t.matched}\n`,
        );
      } else preds = docPredsOf(p, rs);
    }
    const train = opts.train
      ? docGoldOf((await load(opts.train, { relInfo: opts.relInfo })).records, rs)
      : undefined;
    const titles = new Set(preds.map((x) => x.title));
    result = evaluateDocRed(
      opts.onlyPredicted ? gold.filter((d) => titles.has(d.title)) : gold,
      preds,
      train,
    );
    const uncovered = gold.filter((d) => !titles.has(d.title)).length;
    if (uncovered && !opts.onlyPredicted)
      result.warnings.push(
        `${uncovered} of ${gold.length} gold document(s) have no prediction: their facts count as misses in recall (score only the predicted documents with --only-predicted)`,
      );
  } else {
    const g0 = await load(opts.gold, { format: opts.goldFrom, relations: opts.relations });
    const p0 = await load(opts.pred, { format: opts.predFrom, relations: opts.relations });
    const kept = dropIgnored(g0.records, p0.records);
    if (kept.records || kept.pairs)
      process.stderr.write(
        `ignored by a curator, not scored: ${kept.records} record(s), ${kept.pairs} more pair(s)\n`,
      );
    const ids = new Set(kept.pred.map((x) => x.id));
    result = evaluateMicro(
      opts.onlyPredicted ? kept.gold.filter((x) => ids.has(x.id)) : kept.gold,
      kept.pred,
      await relationSetFor(opts, g0.relationSet, opts.gold),
    );
    // evaluateMicro warns about gold records without a prediction; say how to leave them out.
    if (!opts.onlyPredicted && kept.gold.some((x) => !ids.has(x.id)))
      result.warnings.push('score only the predicted records with --only-predicted');
  }
  if (opts.json) {
    const { metric, precision, recall, f1, ign_f1, per_relation, confusion, counts, warnings } =
      result;
    process.stdout.write(
      JSON.stringify({
        metric,
        precision,
        recall,
        f1,
        ...(ign_f1 !== undefined ? { ign_f1 } : {}),
        per_relation,
        confusion,
        counts,
        warnings,
      }) + '\n',
    );
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  } else printResult(result);
}

function addImportCommand(program: Command): void {
  program
    .command('import')
    .description('convert a dataset file into canonical JSONL')
    .argument('<in>', 'input file (- for standard input)')
    .addOption(
      new Option(
        '--from <format>',
        'input format (detected when omitted); openai-batch-results: the results of a batch written by export --format openai-batch (with --batch)',
      ).choices([...IMPORT_CHOICES]),
    )
    .addOption(
      new Option('--format <format>', 'the same as --from (older name)')
        .choices([...IMPORT_CHOICES])
        .hideHelp(),
    )
    .option('--relations <file>', 'relation2id.txt (FinRE/SanWen) or a relation-set JSON')
    .option('--rel-info <file>', 'rel_info.json (DocRED): relation ids to names')
    .option('--relation-set-out <file>', 'also write the relation set the input defines')
    .option(
      '--batch <file>',
      'with --from openai-batch-results: the batch file export wrote (its manifest beside it names the records)',
    )
    .option('--force', 'replace output files that exist')
    .option(
      '--json',
      'also print a summary as one JSON object (with -o -, the records take standard output: use a file)',
    )
    .requiredOption('-o, --out <file>', 'output JSONL')
    .action((input: string, o: ImportCommandOptions) => importCommand(input, o));
}

function addExportCommand(program: Command): void {
  program
    .command('export')
    .description('write records in another format')
    .argument('<in>', 'input (canonical JSONL or any importable format)')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices([...EXPORT_FORMATS])
        .makeOptionMandatory(),
    )
    .addOption(fromOption())
    .option('--template <name|file>', 'prompt template for sft-* formats (built-in: default)')
    .option(
      '--relations <file>',
      'relation set (labels and descriptions for prompts; ids for DocRED)',
    )
    .option('--rel-info <file>', 'rel_info.json: maps names back to DocRED relation ids')
    .option('--served-model <name>', 'openai-batch: the model the requests name')
    .addOption(
      new Option(
        '--server-flavor <flavor>',
        'openai-batch: whose constraint fields the requests carry',
      )
        .choices([...SERVER_FLAVORS])
        .default('openai'),
    )
    .addOption(
      cliOption('answers', { description: 'openai-batch: relation names or one-token codes' }),
    )
    .addOption(cliOption('direction', { description: 'openai-batch: label (SemEval) or pair' }))
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'also print a summary as one JSON object')
    .requiredOption('-o, --out <file>', 'output file (- for standard output)')
    .action((input: string, opts: ExportCommandOptions) => exportCommand(input, opts));
}

function addEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('score predictions against gold, as the official scorers do')
    .addOption(
      new Option(
        '--metric <metric>',
        'micro (TACRED-style), semeval (official), docred (F1 / Ign F1)',
      )
        .choices(['micro', 'semeval', 'docred'])
        .makeOptionMandatory(),
    )
    .requiredOption('--gold <file>', 'gold file (native format or canonical JSONL)')
    .requiredOption(
      '--pred <file>',
      'predictions (SemEval answer file, DocRED submission JSON, or canonical JSONL)',
    )
    .option('--train <file>', 'DocRED training file (for Ign F1)')
    .option('--relations <file>', 'relation set (no-relation label; DocRED relation ids)')
    .option('--rel-info <file>', 'rel_info.json (DocRED)')
    .addOption(
      new Option('--gold-from <format>', "the gold file's format (detected when omitted)").choices([
        ...IMPORT_FORMATS,
      ]),
    )
    .addOption(
      new Option('--pred-from <format>', "the predictions' format (detected when omitted)").choices(
        [...IMPORT_FORMATS],
      ),
    )
    .option(
      '--only-predicted',
      'score only the gold examples (documents) the predictions cover, e.g. a run with --limit',
    )
    .addOption(
      new Option(
        '--match-entities <how>',
        'docred: ids (the predictions use the gold entities) or text (they found their own in the gold texts, e.g. extract-doc --text-only: matched to gold entities by mention span, else by normalized name)',
      )
        .choices(['ids', 'text'])
        .default('ids'),
    )
    .option('--json', 'print one JSON object')
    .action((opts: EvalCommandOptions) => evalCommand(opts));
}

function addValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('check a file and report every problem with its line')
    .argument('<in>', 'input file (- for standard input)')
    .addOption(fromOption())
    .addOption(
      new Option('--format <format>', 'the same as --from (older name)')
        .choices([...IMPORT_FORMATS])
        .hideHelp(),
    )
    .option('--relations <file>', 'relation2id.txt or relation-set JSON')
    .option('--rel-info <file>', 'rel_info.json (DocRED)')
    .option('--json', 'print the result as one JSON object: counts and every problem with its line')
    .action(
      async (
        input: string,
        o: {
          from?: ImportFormat;
          format?: ImportFormat;
          relations?: string;
          relInfo?: string;
          json?: boolean;
        },
      ) => {
        const r = await load(input, { ...o, format: o.from ?? o.format }, true);
        if (o.json)
          printJson({
            input,
            format: r.format,
            records: r.records.length,
            skipped: r.skipped,
            errors: r.diagnostics.filter((d) => d.severity === 'error').length,
            warnings: r.diagnostics.filter((d) => d.severity === 'warning').length,
            diagnostics: r.diagnostics.map((d) => ({
              line: d.line,
              severity: d.severity,
              message: d.message,
            })),
          });
      },
    );
}
