/**
 * What the CLI's command modules share: reading inputs with progress and file:line reports, the
 * exit code, templates, relation sets, the model to use and option parsers.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Diagnostic, InputError, formatDiagnostic, summarize } from './core/diagnostics';
import { parseRelInfo, relationSetFromRelInfo } from './core/formats/docred';
import { BUILTIN_TEMPLATES, PromptTemplate, parseTemplate } from './core/prompts/template';
import { RelationSet } from './core/schema';
import { readText, setReadProgress } from './node/files';
import { ImportFormat, detectFormat, loadRecords, loadRelationSet } from './node/load';
import { ProgressBar } from './node/progress';
import { DEFAULT_MODEL_ID } from './engine/models';

export const MAX_SHOWN = 20;
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
  if (diagnostics.length > MAX_SHOWN) process.stderr.write(`… and ${diagnostics.length - MAX_SHOWN} more problem(s)\n`);
  if (errors.length) raiseExitCode(3);
}

export async function load(file: string, opts: { format?: ImportFormat; relations?: string; relInfo?: string }, allowNothing = false) {
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

export async function resolveTemplate(name: string | undefined): Promise<PromptTemplate> {
  if (!name) return BUILTIN_TEMPLATES['default']!;
  const builtin = BUILTIN_TEMPLATES[name];
  if (builtin) return builtin;
  const exists = await fs.stat(name).then(() => true, () => false);
  if (!exists) throw new InputError(`no built-in template named "${name}" (built-in: ${Object.keys(BUILTIN_TEMPLATES).join(', ')}) and no such file`);
  return parseTemplate((await readText(name)).text, name);
}

export async function relationSetFor(opts: { relations?: string; relInfo?: string }, fallback?: RelationSet): Promise<RelationSet | undefined> {
  if (opts.relations) return loadRelationSet(opts.relations);
  if (opts.relInfo) return relationSetFromRelInfo(parseRelInfo((await readText(opts.relInfo)).text, opts.relInfo));
  return fallback;
}

/** The model to use: --model, else $RELATION_LENS_MODEL, else the catalog's default. */
export function modelSpec(option: string | undefined): string {
  return option ?? process.env['RELATION_LENS_MODEL'] ?? DEFAULT_MODEL_ID;
}

export function positiveNumber(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1) throw new InputError(`${name} must be a number ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}

export function positiveInt(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}
