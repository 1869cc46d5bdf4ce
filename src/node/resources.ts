/**
 * One resolver per resource, shared by the CLI, the engine process and the editor:
 *  - prompt templates: a built-in name of the level (core/prompts/builtin.ts) or a template file;
 *  - relation sets: an explicit file (relation set JSON, rel_info.json, relation2id.txt), a
 *    DocRED rel_info file, the input's own set, a file next to the input, or — when every label
 *    of the records is one of SemEval's — the built-in SemEval set.
 * Callers differ only in what they pass (the editor resolves paths against the workspace and
 * looks next to the open file; the CLI takes its flags).
 */
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { parseRelInfo, relationSetFromRelInfo } from '../core/formats/docred';
import { SEMEVAL_RELATIONS } from '../core/formats/semeval';
import {
  DEFAULT_TEMPLATE_NAME,
  TemplateLevel,
  builtinTemplate,
  builtinTemplateNames,
} from '../core/prompts/builtin';
import { PromptTemplate, parseTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet } from '../core/schema';
import { pathExists, readText } from './files';
import { loadRelationSet } from './load';

export interface ResolvedTemplate {
  template: PromptTemplate;
  /** Document prompts: the answer None is allowed / evidence sentence numbers are asked for. */
  none: boolean;
  evidence: boolean;
  /** "built-in NAME" or the file read. */
  from: string;
}

/**
 * The template a run uses: `spec` names a built-in template of the level or a file (resolved by
 * `resolvePath`, e.g. against the workspace); none given: the level's default. `none` and
 * `evidence` override what a built-in document template says.
 */
export async function resolveTemplate(
  level: TemplateLevel,
  spec?: string,
  opts: { none?: boolean; evidence?: boolean; resolvePath?: (p: string) => string } = {},
): Promise<ResolvedTemplate> {
  const name = spec || DEFAULT_TEMPLATE_NAME[level];
  const builtin = builtinTemplate(level, name);
  if (builtin)
    return {
      template: builtin.template,
      none: opts.none ?? builtin.none,
      evidence: opts.evidence ?? builtin.evidence,
      from: `built-in ${name}`,
    };
  const file = opts.resolvePath ? opts.resolvePath(name) : name;
  if (!(await pathExists(file)))
    throw new InputError(
      `no built-in ${level === 'document' ? 'document ' : ''}template named "${name}" (built-in: ${builtinTemplateNames(level).join(', ')}) and no such file`,
    );
  return {
    template: parseTemplate((await readText(file)).text, file),
    none: opts.none ?? true,
    evidence: opts.evidence ?? false,
    from: file,
  };
}

/** Relation set files looked for next to an input, in this order. */
export const NEARBY_RELATION_SETS = [
  'relations.json',
  'relation-set.json',
  'rel_info.json',
  'relation2id.txt',
];

export interface RelationSetSources {
  /** A relation set file the user named (--relations, relationLens.relationSet). */
  file?: string;
  /** A DocRED rel_info.json the user named (--rel-info). */
  relInfo?: string;
  /** The set the input file itself defines (SemEval, FinRE, DocRED imports). */
  own?: RelationSet;
  /** Folders to look in for NEARBY_RELATION_SETS (the editor: the file's folder, the workspace). */
  nearby?: string[];
  /** Records whose labels may all be SemEval's. */
  records?: RelRecord[];
}

/** The relation set of a run and where it came from; undefined when no source gives one. */
export async function resolveRelationSet(
  src: RelationSetSources,
): Promise<{ set: RelationSet; from: string } | undefined> {
  if (src.file) return { set: await loadRelationSet(src.file), from: src.file };
  if (src.relInfo)
    return {
      set: relationSetFromRelInfo(parseRelInfo((await readText(src.relInfo)).text, src.relInfo)),
      from: src.relInfo,
    };
  if (src.own) return { set: src.own, from: 'the input file' };
  for (const dir of src.nearby ?? [])
    for (const n of NEARBY_RELATION_SETS) {
      const p = path.join(dir, n);
      if (await pathExists(p)) return { set: await loadRelationSet(p), from: p };
    }
  const semeval = new Set([
    ...SEMEVAL_RELATIONS.labels.map((l) => l.name),
    SEMEVAL_RELATIONS.noRelation,
  ]);
  const labels = (src.records ?? []).flatMap((r) => r.relations.map((x) => x.label));
  if (labels.length && labels.every((l) => semeval.has(l)))
    return { set: SEMEVAL_RELATIONS, from: 'built-in SemEval-2010 Task 8 (labels of the file)' };
  return undefined;
}
