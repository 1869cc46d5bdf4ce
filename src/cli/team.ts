/**
 * `relation-lens split` and `relation-lens merge`: a team's curation round (src/core/team.ts).
 * split deals a file among annotators with an overlap all of them annotate; merge brings their
 * files back into one, each curated relation naming its annotator, disagreements on the overlap
 * written for adjudication (or taken from the adjudicated file).
 */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { serializeRecord } from '../core/formats/canonical';
import { mergeAnnotations, splitPlan } from '../core/team';
import { ImportFormat } from '../node/load';
import { writeOutput } from '../node/output';
import { loadAnnotations } from './agreement';
import { fromOption, load, printJson, relationSetFor } from './common';

interface SplitOptions {
  from?: ImportFormat;
  annotators: string;
  overlap: string;
  seed: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

const names = (list: string, what: string): string[] => {
  const n = list.split(',').map((s) => s.trim());
  if (n.some((x) => !x || !/^[\w.@-]+$/.test(x)))
    throw new InputError(
      `${what}: names of letters, digits, . _ @ - separated by commas (got ${JSON.stringify(list)})`,
    );
  if (new Set(n).size !== n.length)
    throw new InputError(`${what}: a name is given twice (${list})`);
  return n;
};

/**
 * The input's records as JSONL lines: a canonical file's own lines (byte-identical), any other
 * format's records written as canonical JSONL.
 */
async function recordLinesOf(input: string, from?: ImportFormat) {
  const r = await load(input, { format: from });
  if (r.format !== 'jsonl') return { r, lines: r.records.map(serializeRecord) };
  const lines = (await fs.readFile(input, 'utf8')).split(/\r?\n/).filter((l) => l.trim());
  if (lines.length !== r.records.length)
    throw new InputError(
      `${lines.length - r.records.length} line(s) are not valid records (relation-lens validate lists them): fix them first, so that no line is lost`,
      input,
    );
  return { r, lines };
}

async function splitCommand(input: string, opts: SplitOptions): Promise<void> {
  const who = names(opts.annotators, '--annotators');
  if (who.length < 2) throw new InputError('--annotators: a split needs two or more names');
  const overlap = Number(opts.overlap);
  if (!(overlap >= 0 && overlap <= 1))
    throw new InputError(`--overlap ${opts.overlap}: a fraction of the records, from 0 to 1`);
  const { r, lines } = await recordLinesOf(input, opts.from);
  const plan = splitPlan(r.records.length, who.length, overlap, Number(opts.seed) || 0);
  const files = who.map((n) => path.join(opts.out, `${n}.jsonl`));
  await fs.mkdir(opts.out, { recursive: true });
  for (const [i, f] of files.entries())
    await writeOutput(f, [input], opts.force, () =>
      plan.parts[i]!.map((j) => lines[j]! + '\n').join(''),
    );
  const summary = {
    records: r.records.length,
    shared: plan.shared.length,
    annotators: Object.fromEntries(who.map((n, i) => [n, plan.parts[i]!.length])),
    files,
  };
  if (opts.json) return printJson(summary);
  process.stdout.write(
    `${r.records.length} record(s) → ${who.length} annotators, ${plan.shared.length} shared by all (the overlap agreement compares):\n` +
      who.map((n, i) => `  ${files[i]}: ${plan.parts[i]!.length} record(s)\n`).join(''),
  );
}

interface MergeOptions {
  from?: ImportFormat;
  relations?: string;
  names?: string;
  adjudicated?: string;
  order?: string;
  out: string;
  force?: boolean;
  json?: boolean;
}

async function mergeCommand(files: string[], opts: MergeOptions): Promise<void> {
  const who = opts.names
    ? names(opts.names, '--names')
    : files.map((f) => path.basename(f).replace(/\.jsonl$/i, ''));
  if (who.length !== files.length)
    throw new InputError(`--names gives ${who.length} name(s) for ${files.length} file(s)`);
  if (new Set(who).size !== who.length)
    throw new InputError(`two files have the same name (${who.join(', ')}): pass --names A,B,…`);
  const { anns, own } = await loadAnnotations(files, who, opts);
  const rs = await relationSetFor(opts, own, files[0]);
  const adjudicated = opts.adjudicated ? (await load(opts.adjudicated, {})).records : undefined;
  const order = opts.order ? (await load(opts.order, {})).records.map((r) => r.id) : undefined;
  const m = mergeAnnotations(anns, rs?.noRelation ?? null, { adjudicated, order });
  await writeOutput(opts.out, [...files, opts.adjudicated, opts.order], opts.force, () =>
    m.records.map((r) => serializeRecord(r) + '\n').join(''),
  );
  const summary = {
    records: m.records.length,
    single: m.single,
    agreed: m.agreed,
    adjudicated: m.adjudicated,
    disputed: m.disputed,
    out: opts.out,
  };
  if (opts.json) return printJson(summary);
  process.stdout.write(
    `${m.records.length} record(s) → ${opts.out}: ${m.single} from one annotator, ${m.agreed} shared and agreed, ${m.adjudicated} adjudicated, ${m.disputed.length} shared with a disagreement${m.disputed.length ? " (every annotator's relations side by side, meta.agreement: settle them in the record view, then merge again with --adjudicated)" : ''}\n`,
  );
}

export function addTeamCommands(program: Command): void {
  program
    .command('split')
    .description(
      "deal a file's records among annotators: a seeded sample (--overlap) to every one of them (what agreement compares), the rest one each; DIR/NAME.jsonl per annotator, lines as in the input",
    )
    .argument('<in>', 'the records to annotate (canonical JSONL or any importable format)')
    .addOption(fromOption())
    .requiredOption('--annotators <a,b,…>', "the annotators' names (two or more)")
    .option('--overlap <fraction>', 'the share of records every annotator gets', '0.1')
    .option('--seed <n>', 'seed of the deal', '0')
    .requiredOption('-o, --out <dir>', "the folder for the annotators' files")
    .option('--force', 'replace annotator files that exist')
    .option('--json', 'print one JSON object')
    .action((input: string, opts: SplitOptions) => splitCommand(input, opts));
  program
    .command('merge')
    .description(
      "one file from the annotators' files: each curated relation names its annotator (meta.annotator), shared records they agree on once, those they do not side by side for adjudication (or from --adjudicated)",
    )
    .argument('<files...>', "the annotators' files (named by file name, or --names)")
    .addOption(fromOption())
    .option('--relations <file>', 'relation set (its no-relation label counts as no relation)')
    .option('--names <a,b,…>', "the annotators' names (default: the file names without .jsonl)")
    .option(
      '--adjudicated <file>',
      'settled records (e.g. the disputed ones after adjudication): taken as they are',
    )
    .option('--order <file>', 'put the records in the order of this file (the one that was split)')
    .requiredOption('-o, --out <file>', 'the merged file')
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'print one JSON object')
    .action((files: string[], opts: MergeOptions) => mergeCommand(files, opts));
}
