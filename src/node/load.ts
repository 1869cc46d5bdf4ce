/**
 * Loading any supported input into canonical records, with format detection. This is where the
 * core's pure readers meet the file system; the CLI and the extension host both use it.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Diagnostic, InputError } from '../core/diagnostics';
import { importBratDocument, parseVisualLabels } from '../core/formats/brat';
import { readCanonical } from '../core/formats/canonical';
import {
  importChineseTsv,
  parseRelation2Id,
  relationSetFromLabels,
} from '../core/formats/chineseTsv';
import { Collector, ImportResult } from '../core/formats/common';
import { importDoccano } from '../core/formats/doccano';
import {
  importDocRed,
  parseRelInfo,
  readDocRedSubmission,
  relationSetFromRelInfo,
} from '../core/formats/docred';
import { importLabelStudio } from '../core/formats/labelStudio';
import { importSemEval } from '../core/formats/semeval';
import { importTacred } from '../core/formats/tacred';
import { RelationSet, validateRelationSet } from '../core/schema';
import { pathExists, readHead, readLines, readText } from './files';

export const IMPORT_FORMATS = [
  'jsonl',
  'semeval',
  'finre',
  'sanwen',
  'docred',
  'tacred',
  'doccano',
  'label-studio',
  'brat',
] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface LoadOptions {
  format?: ImportFormat;
  /** relation2id.txt (FinRE/SanWen) or a relation-set JSON file. */
  relations?: string;
  /** rel_info.json (DocRED). */
  relInfo?: string;
}

export function isJsonLine(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

/** Guesses a file's format from its name and first bytes (a folder of .ann files: brat). */
export async function detectFormat(file: string): Promise<ImportFormat> {
  if ((await fs.stat(file).catch(() => undefined))?.isDirectory()) {
    if ((await fs.readdir(file)).some((f) => f.endsWith('.ann'))) return 'brat';
    throw new InputError('a folder without brat .ann files; give a file, or a brat folder', file);
  }
  const ext = path.extname(file).toLowerCase();
  const head = await readHead(file);
  const first = head.split('\n').find((l) => l.trim() !== '') ?? '';
  if (/^\s*\d+\t"/.test(first)) return 'semeval';
  if (first.split('\t').length === 4) {
    const lower = file.toLowerCase();
    return lower.includes('sanwen') ? 'sanwen' : 'finre';
  }
  // One JSON value spread over several lines (pretty-printed) is not JSON Lines.
  const trimmed = head.trimStart();
  if (trimmed.startsWith('{') && !isJsonLine(first)) {
    if (/"vertexSet"/.test(head)) return 'docred';
    if (/"subj_start"/.test(head)) return 'tacred';
    if (/"annotations"|"predictions"|"data"\s*:/.test(head)) return 'label-studio';
    if (ext !== '.jsonl')
      throw new InputError(
        `the file holds a JSON object over several lines, not JSON Lines (one record per line), and it is not a DocRED, TACRED or Label Studio file; pass --from FORMAT (one of: ${IMPORT_FORMATS.join(', ')})`,
        file,
      );
  }
  if (ext === '.jsonl' || /^\s*\{/.test(first)) {
    if (/"start_offset"/.test(first) || (/"from_id"/.test(first) && !/"mentions"/.test(first)))
      return 'doccano';
    return 'jsonl';
  }
  if (/^\s*\[/.test(head)) {
    if (/"vertexSet"/.test(head)) return 'docred';
    if (/"subj_start"/.test(head)) return 'tacred';
    if (/"annotations"|"predictions"|"data"\s*:/.test(head)) return 'label-studio';
  }
  throw new InputError(
    `cannot tell the format of this file; pass --from FORMAT (one of: ${IMPORT_FORMATS.join(', ')})`,
    file,
  );
}

export async function loadRelationSet(file: string): Promise<RelationSet> {
  const { text } = await readText(file);
  if (/relation2id/i.test(path.basename(file)) || !text.trimStart().startsWith('{')) {
    const name = path.basename(path.dirname(path.resolve(file))) || 'relations';
    return relationSetFromLabels(name, await relation2IdLabels(file));
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  // DocRED's rel_info.json ({"P17": "country", ...}) is a relation set too.
  if (
    v &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    !('labels' in v) &&
    Object.values(v).length &&
    Object.values(v).every((x) => typeof x === 'string')
  )
    return relationSetFromRelInfo(
      v as Record<string, string>,
      path.basename(path.dirname(path.resolve(file))) || 'docred',
    );
  const r = validateRelationSet(v);
  if (!r.ok) throw new InputError(`invalid relation set: ${r.problems.join('; ')}`, file);
  return r.value;
}

async function relation2IdLabels(file: string): Promise<string[]> {
  const { text } = await readText(file);
  const r2i = parseRelation2Id(text);
  if (r2i.errors.length) throw new InputError(r2i.errors[0]!.message, file, r2i.errors[0]!.line);
  return r2i.labels;
}

/** Loads a file in any import format into canonical records. */
export async function loadRecords(
  file: string,
  opts: LoadOptions = {},
): Promise<ImportResult & { format: ImportFormat }> {
  const format = opts.format ?? (await detectFormat(file));
  const withText = async (f: (text: string) => ImportResult): Promise<ImportResult> => {
    const { text, diagnostics } = await readText(file);
    const r = f(text);
    return { ...r, diagnostics: [...diagnostics, ...r.diagnostics] };
  };
  let result: ImportResult;
  switch (format) {
    case 'jsonl': {
      const records = [];
      const diagnostics: Diagnostic[] = [];
      for await (const ev of readCanonical(readLines(file), file)) {
        if (ev.kind === 'record') records.push(ev.record);
        else diagnostics.push(ev.diagnostic);
      }
      result = {
        records,
        diagnostics,
        skipped: diagnostics.filter((d) => d.severity === 'error').length,
      };
      if (opts.relations) result.relationSet = await loadRelationSet(opts.relations);
      break;
    }
    case 'semeval':
      result = await importSemEval(readLines(file), file);
      break;
    case 'finre':
    case 'sanwen': {
      let rel = opts.relations;
      if (!rel) {
        const guess = path.join(path.dirname(file), 'relation2id.txt');
        if (await pathExists(guess)) rel = guess;
      }
      const labels = rel ? await relation2IdLabels(rel) : undefined;
      result = await importChineseTsv(readLines(file), file, { dataset: format, labels });
      break;
    }
    case 'docred': {
      let relInfo: Record<string, string> | undefined;
      if (opts.relInfo) relInfo = parseRelInfo((await readText(opts.relInfo)).text, opts.relInfo);
      result = await withText((t) => importDocRed(t, file, relInfo));
      break;
    }
    case 'tacred':
      result = await withText((t) => importTacred(t, file));
      break;
    case 'doccano':
      result = await importDoccano(readLines(file), file);
      break;
    case 'label-studio':
      result = await withText((t) => importLabelStudio(t, file));
      break;
    case 'brat':
      result = await importBratFolder(file);
      break;
  }
  if (opts.relations && format !== 'finre' && format !== 'sanwen' && !result.relationSet)
    result.relationSet = await loadRelationSet(opts.relations);
  return { ...result, format };
}

/**
 * A brat folder: every NAME.ann with its NAME.txt, in name order; visual.conf's labels map brat
 * types back to the names they were written for. Problems name the .ann file and line.
 */
async function importBratFolder(dir: string): Promise<ImportResult> {
  const names = (await fs.readdir(dir))
    .filter((f) => f.endsWith('.ann'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const conf = path.join(dir, 'visual.conf');
  const labels = (await pathExists(conf))
    ? parseVisualLabels((await readText(conf)).text)
    : new Map<string, string>();
  const out: ImportResult = { records: [], diagnostics: [], skipped: 0 };
  const ids = new Set<string>();
  for (const n of names) {
    const annFile = path.join(dir, n);
    const txtFile = annFile.replace(/\.ann$/, '.txt');
    const c = new Collector(annFile);
    if (!(await pathExists(txtFile))) c.skip(1, `no ${path.basename(txtFile)} beside it`);
    else {
      // brat's offsets index the .txt exactly as stored (no BOM or newline handling).
      const text = await fs.readFile(txtFile, 'utf8');
      const ann = (await readText(annFile)).text;
      importBratDocument(n.slice(0, -4), text, ann, c, labels);
    }
    for (const r of c.records) {
      if (ids.has(r.id)) {
        c.skip(1, `record id ${JSON.stringify(r.id)} is taken by another file of the folder`);
        continue;
      }
      ids.add(r.id);
      out.records.push(r);
    }
    out.diagnostics.push(...c.diagnostics);
    out.skipped += c.skipped;
  }
  return out;
}

export async function loadDocRedSubmission(file: string) {
  const { text, diagnostics } = await readText(file);
  const r = readDocRedSubmission(text, file);
  return { ...r, diagnostics: [...diagnostics, ...r.diagnostics] };
}
