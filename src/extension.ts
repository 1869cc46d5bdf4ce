/**
 * Entry point: wires the VS Code layer together and owns nothing itself. Activation is light:
 * the engine process (node-llama-cpp, hnswlib-node) starts on the first extraction.
 */
import * as vscode from 'vscode';
import { registerCommands } from './vscode/commands';
import { registerTrainingCommands } from './vscode/training';
import { KnownAdapters } from './vscode/adapters';
import { readSettings } from './vscode/config';
import { registerCuration } from './vscode/curation';
import { DecorationController, RecordHoverProvider } from './vscode/decorations';
import {
  TextOverlayController,
  TextTripleHoverProvider,
  curateInText,
  undoInText,
} from './vscode/textOverlay';
import { EngineService } from './vscode/engineService';
import { RECORD_VIEW, RecordViewProvider } from './vscode/recordView';
import { ActiveRelationSet } from './vscode/activeRelationSet';
import { RunHistory } from './vscode/runs';
import { RelationsTree, RunsTree, pickFilter } from './vscode/tree';
import { RecordValidator } from './vscode/validation';

export function activate(context: vscode.ExtensionContext): void {
  const t0 = performance.now();
  const log = vscode.window.createOutputChannel('Relation Lens', { log: true });
  const validator = new RecordValidator(log);
  const runs = new RunHistory(context.workspaceState);
  const adapters = new KnownAdapters(context.workspaceState);
  const engine = new EngineService(context, log, readSettings);
  const active = new ActiveRelationSet(() => {
    decorations.refreshAll();
    textOverlays.refreshAll();
  });
  const refreshRelationSet = () => active.refresh();
  const noRelation = () => active.noRelation;
  const nameOf = () => active.nameOf;
  const decorations = new DecorationController(readSettings().decorations, noRelation, nameOf);
  const textOverlays = new TextOverlayController(readSettings().decorations, noRelation, nameOf);
  const relations = new RelationsTree();
  const recordViews = new RecordViewProvider(
    vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview'),
    log,
  );
  context.subscriptions.push(
    log,
    validator,
    runs,
    engine,
    decorations,
    textOverlays,
    relations,
    vscode.languages.registerHoverProvider(
      { language: 'jsonl' },
      new RecordHoverProvider(noRelation, nameOf, () => active.set),
    ),
    vscode.languages.registerHoverProvider(
      { scheme: 'file' },
      new TextTripleHoverProvider(textOverlays),
    ),
    vscode.commands.registerCommand('relationLens.curateInText', curateInText),
    vscode.commands.registerCommand('relationLens.undoInText', undoInText),
    recordViews,
    vscode.window.registerCustomEditorProvider(RECORD_VIEW, recordViews, {
      webviewOptions: { retainContextWhenHidden: true },
    }),
    vscode.window.registerTreeDataProvider('relationLens.relations', relations),
    vscode.window.registerTreeDataProvider('relationLens.runs', new RunsTree(runs)),
    vscode.commands.registerCommand('relationLens.filterRelations', () => pickFilter(relations)),
    vscode.commands.registerCommand('relationLens.toggleDecorations', async () => {
      const on = !readSettings().decorations;
      await vscode.workspace
        .getConfiguration('relationLens')
        .update('decorations.enabled', on, vscode.ConfigurationTarget.Global);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('relationLens.decorations.enabled')) {
        decorations.setEnabled(readSettings().decorations);
        textOverlays.setEnabled(readSettings().decorations);
      }
      if (e.affectsConfiguration('relationLens')) {
        engine.render();
        void refreshRelationSet();
      }
    }),
    vscode.window.onDidChangeActiveTextEditor(() => void refreshRelationSet()),
  );
  const services = { context, log, validator, engine, runs, adapters };
  registerCommands(services);
  registerTrainingCommands(services);
  registerCuration(context);
  void refreshRelationSet();
  for (const doc of vscode.workspace.textDocuments)
    if (doc.uri.fsPath.toLowerCase().endsWith('.jsonl')) void validator.validate(doc);
  log.info(
    `Relation Lens activated in ${(performance.now() - t0).toFixed(1)} ms (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'restricted'})`,
  );
}

export function deactivate(): void {}
