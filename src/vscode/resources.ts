/** The relation set and the prompt template a document uses (settings, files next to it, or built-ins). */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SEMEVAL_RELATIONS } from '../core/formats/semeval';
import { BUILTIN_TEMPLATES, PromptTemplate, parseTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet } from '../core/schema';
import { readText } from '../node/files';
import { loadRelationSet } from '../node/load';
import { Settings, resolvePath } from './config';

const NEARBY = ['relations.json', 'relation-set.json', 'rel_info.json', 'relation2id.txt'];

export async function relationSetFor(doc: vscode.Uri, s: Settings, records: RelRecord[]): Promise<{ set: RelationSet; from: string } | undefined> {
  if (s.relationSet) {
    const p = resolvePath(s.relationSet, doc);
    return { set: await loadRelationSet(p), from: p };
  }
  if (doc.scheme === 'file') {
    const dirs = [path.dirname(doc.fsPath), vscode.workspace.getWorkspaceFolder(doc)?.uri.fsPath].filter((d): d is string => !!d);
    for (const d of dirs)
      for (const n of NEARBY) {
        const p = path.join(d, n);
        if (existsSync(p)) return { set: await loadRelationSet(p), from: p };
      }
  }
  const semeval = new Set([...SEMEVAL_RELATIONS.labels.map((l) => l.name), SEMEVAL_RELATIONS.noRelation]);
  const labels = records.flatMap((r) => r.relations.map((x) => x.label));
  if (labels.length && labels.every((l) => semeval.has(l))) return { set: SEMEVAL_RELATIONS, from: 'built-in SemEval-2010 Task 8 (labels of the file)' };
  return undefined;
}

export async function templateFor(s: Settings, doc?: vscode.Uri): Promise<PromptTemplate> {
  const builtin = BUILTIN_TEMPLATES[s.template];
  if (builtin) return builtin;
  const p = resolvePath(s.template, doc);
  if (!existsSync(p)) throw new Error(`prompt template "${s.template}" is neither built in (${Object.keys(BUILTIN_TEMPLATES).join(', ')}) nor a file`);
  return parseTemplate((await readText(p)).text, p);
}
