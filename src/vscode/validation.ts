/** Shows canonical-record problems of open .jsonl files in the Problems panel. */
import * as vscode from 'vscode';
import { readCanonical } from '../core/formats/canonical';
import { linesOfText } from '../core/io/lines';
import { Disposable } from './lifecycle';

export class RecordValidator extends Disposable {
  private readonly collection = this._register(
    vscode.languages.createDiagnosticCollection('relation-lens'),
  );

  constructor(private readonly log: vscode.LogOutputChannel) {
    super();
    const auto = () =>
      vscode.workspace.getConfiguration('relationLens').get<boolean>('validateOnOpen', true);
    this._register(
      vscode.workspace.onDidOpenTextDocument(
        (d) => auto() && this.isRecordFile(d) && void this.validate(d),
      ),
    );
    this._register(
      vscode.workspace.onDidSaveTextDocument(
        (d) => auto() && this.isRecordFile(d) && void this.validate(d),
      ),
    );
    this._register(vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)));
  }

  private isRecordFile(d: vscode.TextDocument): boolean {
    return d.uri.fsPath.toLowerCase().endsWith('.jsonl');
  }

  /** Validates a document; returns the number of valid records and problems. */
  async validate(doc: vscode.TextDocument): Promise<{ records: number; problems: number }> {
    const diagnostics: vscode.Diagnostic[] = [];
    let records = 0;
    for await (const ev of readCanonical(linesOfText(doc.getText()), doc.uri.fsPath)) {
      if (ev.kind === 'record') {
        records++;
        continue;
      }
      const d = ev.diagnostic;
      const line = Math.max(0, Math.min(d.line - 1, doc.lineCount - 1));
      const range = doc.lineAt(line).range;
      const diag = new vscode.Diagnostic(
        range,
        d.message,
        d.severity === 'error'
          ? vscode.DiagnosticSeverity.Error
          : vscode.DiagnosticSeverity.Warning,
      );
      diag.source = 'Relation Lens';
      diagnostics.push(diag);
    }
    this.collection.set(doc.uri, diagnostics);
    this.log.info(
      `validated ${doc.uri.fsPath}: ${records} record(s), ${diagnostics.length} problem(s)`,
    );
    return { records, problems: diagnostics.length };
  }
}
