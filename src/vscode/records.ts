/** Records in open documents: which documents hold records, the record on a line, line edits. */
import * as vscode from 'vscode';
import { RecordLineCache } from '../core/editor/lineDecorations';
import { serializeRecord } from '../core/formats/canonical';
import { RelRecord } from '../core/schema';

/** One parse cache for the whole extension (bounded; keyed by line text). */
export const lineCache = new RecordLineCache(20000);

export function isRecordDocument(doc: vscode.TextDocument): boolean {
  return doc.languageId === 'jsonl' || doc.uri.path.toLowerCase().endsWith('.jsonl');
}

export function recordAt(doc: vscode.TextDocument, line: number): RelRecord | null {
  if (line < 0 || line >= doc.lineCount) return null;
  return lineCache.get(doc.lineAt(line).text);
}

export function* recordLines(
  doc: vscode.TextDocument,
  from = 0,
  to = doc.lineCount - 1,
): Generator<{ line: number; record: RelRecord }> {
  for (let i = Math.max(0, from); i <= Math.min(to, doc.lineCount - 1); i++) {
    const record = lineCache.get(doc.lineAt(i).text);
    if (record) yield { line: i, record };
  }
}

/**
 * Replaces whole lines with new records in one WorkspaceEdit (one undo step). A line whose text
 * is no longer `expected` (edited meanwhile) is left alone and reported.
 */
export async function replaceRecords(
  doc: vscode.TextDocument,
  changes: Array<{ line: number; expected: string; record: RelRecord }>,
): Promise<{ applied: number; skipped: number[] }> {
  const edit = new vscode.WorkspaceEdit();
  const skipped: number[] = [];
  let applied = 0;
  for (const c of changes) {
    if (c.line >= doc.lineCount || doc.lineAt(c.line).text !== c.expected) {
      skipped.push(c.line);
      continue;
    }
    const text = serializeRecord(c.record);
    if (text === c.expected) continue;
    edit.replace(doc.uri, doc.lineAt(c.line).range, text);
    applied++;
  }
  if (applied && !(await vscode.workspace.applyEdit(edit)))
    throw new Error(`could not edit ${doc.uri.fsPath}`);
  return { applied, skipped };
}
