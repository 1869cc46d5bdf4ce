/** Command handlers of the VS Code layer. They call the core; they hold no extraction or scoring logic. */
import * as vscode from 'vscode';
import { evaluateMicro } from '../core/eval';
import { readCanonical } from '../core/formats/canonical';
import { linesOfText } from '../core/io/lines';
import { RelRecord } from '../core/schema';
import { loadRecords } from '../node/load';
import { RecordValidator } from './validation';

async function recordsOf(doc: vscode.TextDocument): Promise<RelRecord[]> {
  const out: RelRecord[] = [];
  for await (const ev of readCanonical(linesOfText(doc.getText()), doc.uri.fsPath)) if (ev.kind === 'record') out.push(ev.record);
  return out;
}

export function registerCommands(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, validator: RecordValidator): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('relationLens.validateFile', async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc) return void vscode.window.showWarningMessage('Relation Lens: open a JSONL file of records first.');
      const r = await validator.validate(doc);
      void vscode.window.showInformationMessage(`Relation Lens: ${r.records} valid record(s), ${r.problems} problem(s) (see the Problems panel).`);
    }),
    vscode.commands.registerCommand('relationLens.evaluateAgainstGold', async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc) return void vscode.window.showWarningMessage('Relation Lens: open a predictions JSONL file first.');
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Use as gold', title: 'Gold file (canonical JSONL or a dataset file)' });
      if (!picked?.[0]) return;
      const gold = await loadRecords(picked[0].fsPath);
      const result = evaluateMicro(gold.records, await recordsOf(doc), gold.relationSet);
      const line = `P ${(100 * result.precision).toFixed(2)}%  R ${(100 * result.recall).toFixed(2)}%  F1 ${(100 * result.f1).toFixed(2)}%`;
      log.info(`evaluate ${doc.uri.fsPath} against ${picked[0].fsPath}: ${line}`);
      for (const w of result.warnings) log.warn(w);
      void vscode.window.showInformationMessage(`Relation Lens (micro, no-relation excluded): ${line}`);
    }),
  );
}
