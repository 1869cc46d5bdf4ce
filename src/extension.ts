/** Entry point: wires the VS Code layer together. Nothing heavy happens on activation. */
import * as vscode from 'vscode';
import { registerCommands } from './vscode/commands';
import { RecordValidator } from './vscode/validation';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Relation Lens', { log: true });
  const validator = new RecordValidator(log);
  context.subscriptions.push(log, validator);
  registerCommands(context, log, validator);
  for (const doc of vscode.workspace.textDocuments) if (doc.uri.fsPath.toLowerCase().endsWith('.jsonl')) void validator.validate(doc);
}

export function deactivate(): void {}
