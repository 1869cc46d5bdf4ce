/** The relation set and the prompt template a document uses (settings, files next to it, or built-ins). */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { PromptTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet } from '../core/schema';
import { resolveRelationSet, resolveTemplate } from '../node/resources';
import { Settings, resolvePath } from './config';

/** The relation set of a document: the setting, a file next to it, or SemEval's when its labels are. */
export async function relationSetFor(
  doc: vscode.Uri,
  s: Settings,
  records: RelRecord[],
): Promise<{ set: RelationSet; from: string } | undefined> {
  const nearby =
    doc.scheme === 'file'
      ? [path.dirname(doc.fsPath), vscode.workspace.getWorkspaceFolder(doc)?.uri.fsPath].filter(
          (d): d is string => !!d,
        )
      : [];
  return resolveRelationSet({
    file: s.relationSet ? resolvePath(s.relationSet, doc) : undefined,
    nearby,
    records,
  });
}

/** The sentence-level template of the settings (a built-in name or a file, resolved against the workspace). */
export async function templateFor(s: Settings, doc?: vscode.Uri): Promise<PromptTemplate> {
  return (
    await resolveTemplate('sentence', s.template, { resolvePath: (p) => resolvePath(p, doc) })
  ).template;
}
