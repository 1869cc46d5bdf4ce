/**
 * What the CLI's command modules share: reading inputs with progress and file:line reports, the
 * exit code, templates, relation sets, the model to use and option parsers.
 */
import { promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Diagnostic, InputError, formatDiagnostic, summarize } from '../core/diagnostics';
import { PromptTemplate } from '../core/prompts/template';
import { RelationSet } from '../core/schema';
import { setReadProgress } from '../node/files';
import { IMPORT_FORMATS, ImportFormat, detectFormat, loadRecords } from '../node/load';
import { ProgressBar } from '../node/progress';
import { Command, Option } from 'commander';
import { OPTIONS, OptionDecl, OptionName, checkOptionValue } from '../core/options';
import { DEFAULT_MODEL_ID } from '../engine/models';
import {
  NEARBY_RELATION_SETS,
  resolveRelationSet,
  resolveTemplate as resolveResource,
} from '../node/resources';

export const MAX_SHOWN = 20;

/** A command's result on standard output (--json): one JSON object on one line. */
export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v) + '\n');
}
let exitCode = 0;

/** The process's exit code so far: the highest any command raised. */
export function currentExitCode(): number {
  return exitCode;
}

export function raiseExitCode(code: number): void {
  exitCode = Math.max(exitCode, code);
}

export function report(diagnostics: Diagnostic[]): void {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  diagnostics.slice(0, MAX_SHOWN).forEach((d) => process.stderr.write(formatDiagnostic(d) + '\n'));
  if (diagnostics.length > MAX_SHOWN)
    process.stderr.write(`… and ${diagnostics.length - MAX_SHOWN} more problem(s)\n`);
  if (errors.length) raiseExitCode(3);
}

let fromStdin: string | undefined;

/**
 * `-` as an input: standard input, read once into a file of its own under the temp folder (the
 * readers stream and detect formats from a file; messages name that file).
 */
async function stdinFile(): Promise<string> {
  if (fromStdin) return fromStdin;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'relation-lens-stdin-'));
  fromStdin = path.join(dir, 'stdin');
  await fs.writeFile(fromStdin, Buffer.concat(chunks));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return fromStdin;
}

export async function load(
  file: string,
  opts: { format?: ImportFormat; relations?: string; relInfo?: string },
  allowNothing = false,
) {
  if (file === '-') file = await stdinFile();
  const bar = new ProgressBar(`reading ${path.basename(file)}`);
  setReadProgress((read, total) => bar.update(read, total));
  try {
    const r = await loadRecords(file, opts);
    bar.stop();
    report(r.diagnostics);
    process.stderr.write(
      summarize(file, { items: r.records, skipped: r.skipped, diagnostics: r.diagnostics }) + '\n',
    );
    if (r.records.length === 0 && r.skipped > 0 && !allowNothing) {
      // Nothing could be read: the wrong format, most likely. Fatal, so nothing empty is written.
      const looks = opts.format ? await detectFormat(file).catch(() => undefined) : undefined;
      throw new InputError(
        `no record could be read as ${r.format} (${r.skipped} unit(s) skipped)${looks && looks !== r.format ? `; the file looks like ${looks} (--from ${looks})` : ''}; nothing was written`,
        file,
      );
    }
    return r;
  } finally {
    bar.stop();
    setReadProgress(undefined);
  }
}

/** The sentence-level template of --template (node/resources.ts resolves it). */
export async function resolveTemplate(name: string | undefined): Promise<PromptTemplate> {
  return (await resolveResource('sentence', name)).template;
}

/** The error when relationSetFor finds no relation set. */
export const NO_RELATION_SET = `no relation set: pass --relations FILE (a relation-set JSON, rel_info.json or relation2id.txt), or put ${NEARBY_RELATION_SETS.join(' or ')} beside the input`;

/**
 * The relation set of --relations / --rel-info, else the input's own, else one beside the input
 * (NEARBY_RELATION_SETS, as the editor looks; said on standard error) — node/resources.ts resolves it.
 */
export async function relationSetFor(
  opts: { relations?: string; relInfo?: string },
  fallback?: RelationSet,
  input?: string,
): Promise<RelationSet | undefined> {
  const nearby = input && input !== '-' ? [path.dirname(input)] : [];
  const found = await resolveRelationSet({
    file: opts.relations,
    relInfo: opts.relInfo,
    own: fallback,
    nearby,
  });
  if (found && nearby.length && found.from !== 'the input file' && !opts.relations && !opts.relInfo)
    process.stderr.write(`relation set ${found.set.name} from ${found.from}\n`);
  return found?.set;
}

/** The model to use: --model, else $RELATION_LENS_MODEL, else the catalog's default. */
export function modelSpec(option: string | undefined): string {
  return option ?? process.env['RELATION_LENS_MODEL'] ?? DEFAULT_MODEL_ID;
}

export function positiveNumber(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1)
    throw new InputError(`${name} must be a number ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}

export function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The CLI option of a declared option (core/options.ts): its flag, help text, choices, default
 * and a parser that checks the value with the option's type. `overrides` changes what one
 * command says differently (its help text).
 */
/** An option whose value is kept under a given attribute (a renamed flag keeps its old one). */
class AttributeOption extends Option {
  constructor(
    flags: string,
    description: string,
    private readonly attribute: string,
  ) {
    super(flags, description);
  }
  override attributeName(): string {
    return this.attribute;
  }
}

/** `--limit <n>` (how many items to take), read into `attribute` (the command's earlier name, `n`). */
export function limitOption(
  description: string,
  attribute: string,
  opts: { default?: number } = {},
): Option {
  const o = new AttributeOption('--limit <n>', description, attribute).argParser((v: string) =>
    positiveInt(v, '--limit'),
  );
  if (opts.default !== undefined) o.default(opts.default);
  return o;
}

/** Earlier flags of options not declared in core/options.ts: [command, old flag, new flag]. */
const RENAMED_FLAGS: Array<[string, string, string]> = [
  ['throughput', '--n', '--limit'],
  ['adapter-check', '--n', '--limit'],
  ['eval', '--gold-format', '--gold-from'],
  ['eval', '--pred-format', '--pred-from'],
];

/** A hidden option under an old flag that fills `o`'s value and says once what it is called now. */
function deprecatedAlias(cmd: Command, o: Option, old: string): Option {
  const parse = (o as unknown as { parseArg?: (v: string, p: unknown) => unknown }).parseArg;
  const arg = o.flags.split(' ').slice(1).join(' ');
  let said = false;
  return new AttributeOption(`${old} ${arg}`.trim(), `deprecated: ${o.long}`, o.attributeName())
    .hideHelp()
    .argParser((v: string, prev: unknown) => {
      if (!said)
        process.stderr.write(
          `note: ${old} is now ${o.long} (in ${cmd.name()}); ${old} still works for now\n`,
        );
      said = true;
      return parse ? parse.call(o, v, prev) : v;
    });
}

/**
 * The hidden, deprecated options of renamed flags, in `cmd` and its subcommands: those the option
 * declarations name (OptionDecl.renamedFrom) and RENAMED_FLAGS. The old flag still works, says
 * once on stderr what it is called now, and fills the same value.
 */
export function addRenamedFlags(cmd: Command): void {
  const decls = Object.values(OPTIONS as Record<string, OptionDecl>);
  for (const o of [...cmd.options]) {
    const d = decls.find((x) => x.renamedFrom && x.flag?.split(' ')[0] === o.long);
    const olds = [
      ...(d?.renamedFrom?.flags ?? []),
      ...RENAMED_FLAGS.filter(([c, , now]) => c === cmd.name() && now === o.long).map(
        ([, old]) => old,
      ),
    ];
    for (const old of olds)
      if (!cmd.options.some((x) => x.long === old)) cmd.addOption(deprecatedAlias(cmd, o, old));
  }
  for (const c of cmd.commands) addRenamedFlags(c);
}

export function cliOption(name: OptionName, overrides: { description?: string } = {}): Option {
  const d: OptionDecl = OPTIONS[name];
  if (!d.flag) throw new Error(`option ${name} has no CLI flag`);
  const o = d.renamedFrom
    ? new AttributeOption(d.flag, overrides.description ?? d.description, d.renamedFrom.attribute)
    : new Option(d.flag, overrides.description ?? d.description);
  const flag = d.flag.split(' ')[0]!;
  if (d.value.type === 'enum') o.choices([...d.value.values]);
  else if (d.value.type === 'boolean')
    return o; // a switch: present = true
  else if (d.value.type !== 'string')
    o.argParser((v: string) => {
      const r = checkOptionValue(name, v.trim() === '' ? Number.NaN : Number(v));
      if (!r.ok) throw new InputError(`${flag} ${r.message}, got ${JSON.stringify(v)}`);
      return r.value;
    });
  if (d.default !== undefined) o.default(d.default);
  return o;
}

/** "2 thread(s)", or "up to 2 threads (adaptive)" when the engine uses fewer while the machine is busy. */
export function threadsText(i: { threads: number; threadPolicy?: 'adaptive' | 'fixed' }): string {
  return i.threadPolicy === 'adaptive'
    ? `up to ${i.threads} thread(s) (adaptive)`
    : `${i.threads} thread(s)`;
}

/** --from: the input format, detected when omitted (the one name of the input-format option). */
export function fromOption(): Option {
  return new Option('--from <format>', 'input format (detected when omitted)').choices([
    ...IMPORT_FORMATS,
  ]);
}
