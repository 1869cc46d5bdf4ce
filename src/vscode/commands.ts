/** Command handlers of the VS Code layer. They call the core and the engine; they hold no extraction or scoring logic. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { chooseMetric, evaluateRecords } from '../core/eval';
import { readCanonical, serializeRecord } from '../core/formats/canonical';
import { exportChineseTsv } from '../core/formats/chineseTsv';
import { exportDoccano } from '../core/formats/doccano';
import { toDocRedSubmission } from '../core/formats/docred';
import { exportSemEvalAnswers } from '../core/formats/semeval';
import { exportSftAlpaca, exportSftChat } from '../core/formats/sft';
import { linesOfText } from '../core/io/lines';
import { pairPrompt } from '../core/pipelines/sentence';
import { RelRecord } from '../core/schema';
import { CATALOG } from '../core/models/catalog';
import { writeFileAtomic } from '../node/files';
import { indexFolderState } from '../node/ragIndex';
import { loadRecords } from '../node/load';
import { readSettings, update } from './config';
import { EngineService } from './engineService';
import { Scope, extractRelations } from './extract';
import { RelationLensPanel } from './panel';
import { KnownAdapters } from './adapters';
import { isRecordDocument, recordAt, recordLines } from './records';
import { relationSetFor, templateFor } from './resources';
import { RunHistory } from './runs';
import { RecordValidator } from './validation';

async function recordsOf(doc: vscode.TextDocument): Promise<RelRecord[]> {
  const out: RelRecord[] = [];
  for await (const ev of readCanonical(linesOfText(doc.getText()), doc.uri.fsPath))
    if (ev.kind === 'record') out.push(ev.record);
  return out;
}

export interface Services {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  validator: RecordValidator;
  engine: EngineService;
  runs: RunHistory;
  adapters: KnownAdapters;
}

export function registerCommands(s: Services): void {
  const { context, log, validator, engine, runs } = s;
  const reg = (id: string, fn: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  reg('relationLens.validateFile', async () => {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc)
      return void vscode.window.showWarningMessage(
        'Relation Lens: open a JSONL file of records first.',
      );
    const r = await validator.validate(doc);
    void vscode.window.showInformationMessage(
      `Relation Lens: ${r.records} valid record(s), ${r.problems} problem(s) (see the Problems panel).`,
    );
  });

  reg('relationLens.evaluateAgainstGold', () => evaluateAgainstGold(s));

  reg('relationLens.extractRelations', (scope?: Scope) =>
    extractRelations(engine, runs, log, typeof scope === 'string' ? scope : undefined),
  );
  reg('relationLens.extractRelationsFile', () => extractRelations(engine, runs, log, 'file'));
  reg('relationLens.extractRelationsLine', () => extractRelations(engine, runs, log, 'line'));

  reg('relationLens.setServerApiKey', () => engine.setApiKey());

  reg('relationLens.selectModel', () => selectModel(s));

  reg('relationLens.selectLoraAdapter', () => selectLoraAdapter(s));

  reg('relationLens.selectRelationSet', async () => {
    const f = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { 'Relation sets': ['json', 'txt'] },
      title: 'Relation set (relation-set JSON, rel_info.json or relation2id.txt)',
    });
    if (!f?.[0]) return;
    await update('relationSet', f[0].fsPath);
    void RelationLensPanel.current?.pushState();
  });

  reg('relationLens.buildIndex', () => buildIndex(s));

  reg('relationLens.openPanel', () => void RelationLensPanel.show(s));

  reg('relationLens.export', () => exportRecords());

  reg('relationLens.showPrompt', (ref?: { uri?: string; line?: number; relation?: number }) =>
    showPrompt(s, ref),
  );

  reg('relationLens.revealLine', async (uri: vscode.Uri, line: number) => {
    const ed = await vscode.window.showTextDocument(uri, { preserveFocus: false });
    const pos = new vscode.Position(line, 0);
    ed.selection = new vscode.Selection(pos, pos);
    ed.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenter);
  });

  reg('relationLens.restartEngine', () => engine.restart());

  reg('relationLens.runSample', () => runSample(s));
}

/** relationLens.evaluateAgainstGold */
async function evaluateAgainstGold(s: Services): Promise<void> {
  const { log, runs } = s;
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc)
    return void vscode.window.showWarningMessage(
      'Relation Lens: open a predictions JSONL file first.',
    );
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Use as gold',
    title: 'Gold file (canonical JSONL or a dataset file)',
  });
  if (!picked?.[0]) return;
  const gold = await loadRecords(picked[0].fsPath);
  const rs =
    gold.relationSet ??
    (await relationSetFor(doc.uri, readSettings(), gold.records).catch(() => undefined))?.set;
  const metric = chooseMetric(rs, gold.records);
  const result = evaluateRecords(gold.records, await recordsOf(doc), rs, metric, doc.uri.fsPath);
  const line = `P ${(100 * result.precision).toFixed(2)}%  R ${(100 * result.recall).toFixed(2)}%  F1 ${(100 * result.f1).toFixed(2)}%`;
  log.info(`evaluate ${doc.uri.fsPath} against ${picked[0].fsPath}: ${line}`);
  for (const w of result.warnings) log.warn(w);
  runs.addEvaluation(doc.uri.fsPath, gold.records.length, rs?.name ?? '', result);
  void vscode.window.showInformationMessage(
    `Relation Lens (${metric === 'semeval' ? 'SemEval official score' : metric === 'docred' ? 'DocRED F1' : 'micro, no-relation excluded'}): ${line}`,
  );
}

/** relationLens.selectModel */
async function selectModel(s: Services): Promise<void> {
  const { engine } = s;
  const items: Array<vscode.QuickPickItem & { value?: string }> = [
    ...CATALOG.map((c) => ({
      label: c.id,
      description: `${c.parameters}, ${c.size ? `${(c.size / 1e9).toFixed(1)} GB` : 'size unknown'}, ${c.hardware}`,
      detail: c.recommended,
      value: c.id,
    })),
    { label: '$(folder-opened) Local GGUF file…' },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: 'Relation Lens: model',
    placeHolder: `current: ${readSettings().model || '(catalog default)'}`,
  });
  if (!pick) return;
  let value = pick.value;
  if (!value) {
    const f = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { 'GGUF models': ['gguf'] },
    });
    value = f?.[0]?.fsPath;
  }
  if (!value) return;
  await update('model', value);
  engine.render();
  void vscode.window.showInformationMessage(
    `Relation Lens: model set to ${value}${pick.value ? ' (downloaded with progress on first use)' : ''}.`,
  );
}

/** relationLens.selectLoraAdapter */
async function selectLoraAdapter(s: Services): Promise<void> {
  const { engine } = s;
  const cur = readSettings().loras;
  const pick = await vscode.window.showQuickPick(
    [
      { label: '$(add) Add an adapter…', v: 'add' },
      ...(cur.length ? [{ label: '$(clear-all) Remove all adapters', v: 'clear' }] : []),
    ],
    {
      title: `Relation Lens: LoRA adapters (${cur.length ? cur.map((l) => `${path.basename(l.path)} × ${l.scale}`).join(', ') : 'none'})`,
    },
  );
  if (!pick) return;
  if (pick.v === 'clear') return void (await update('loras', []), engine.render());
  const f = await vscode.window.showOpenDialog({
    canSelectMany: false,
    filters: { 'LoRA adapters (GGUF)': ['gguf'] },
  });
  if (!f?.[0]) return;
  const scale = await vscode.window.showInputBox({
    title: 'Adapter scale',
    value: '1',
    validateInput: (v) => (Number.isFinite(Number(v)) ? undefined : 'a number, e.g. 1 or 0.5'),
  });
  if (scale === undefined) return;
  await s.adapters.add(f[0].fsPath);
  await update('loras', [...cur, { path: f[0].fsPath, scale: Number(scale) }]);
  engine.render();
}

/**
 * BM25, the local model's embeddings, or — when a serving engine is configured — its
 * /v1/embeddings (the served model unless one is named; llama-server needs --embeddings).
 */
async function pickRetriever(engine: Services['engine']): Promise<
  | {
      v: string;
      dir: string;
      server?: { endpoint: string; apiKey?: string };
    }
  | undefined
> {
  const s = readSettings().server;
  const server = engine.serverKey();
  const items = [
    { label: 'BM25', description: 'lexical, no model', v: 'bm25', dir: 'bm25' },
    { label: 'LLM embeddings', description: 'the selected model, HNSW', v: 'llm', dir: 'llm' },
    ...(server
      ? [
          {
            label: 'Server embeddings',
            description: `${server.endpoint}/embeddings (${s.model || 'its first model'}), HNSW`,
            detail:
              'the serving engine embeds the sentences and, later, the queries (llama-server needs --embeddings)',
            v: `openai:${server.endpoint}${s.model ? `#${s.model}` : ''}`,
            dir: 'server',
            server,
          },
        ]
      : []),
  ];
  return vscode.window.showQuickPick(items, { title: 'Retriever' });
}

/** relationLens.buildIndex */
async function buildIndex(s: Services): Promise<void> {
  const { engine } = s;
  const train = await vscode.window.showOpenDialog({
    canSelectMany: false,
    title: 'Relation Lens: labeled training file to index',
  });
  if (!train?.[0]) return;
  const kind = await pickRetriever(engine);
  if (!kind) return;
  const out = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    openLabel: 'Index folder',
  });
  if (!out?.[0]) return;
  const dir = path.join(
    out[0].fsPath,
    `${path.basename(train[0].fsPath).replace(/\.[^.]+$/, '')}-${kind.dir}-index`,
  );
  const state = await indexFolderState(dir);
  if (state === 'foreign')
    return void vscode.window.showErrorMessage(
      `Relation Lens: ${dir} exists and holds other files; choose another folder.`,
    );
  if (
    state === 'index' &&
    (await vscode.window.showWarningMessage(
      `Relation Lens: ${dir} holds an index already. Replace it?`,
      { modal: true },
      'Replace',
    )) !== 'Replace'
  )
    return;
  const r = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: 'Relation Lens: building the retrieval index',
      cancellable: false,
    },
    (progress) => {
      let last = 0;
      return engine.client.request(
        'buildIndex',
        {
          train: train[0]!.fsPath,
          out: dir,
          embedder: kind.v,
          ...(kind.v === 'llm' ? { model: engine.engineSettings().model } : {}),
          ...(kind.server ? { server: kind.server } : {}),
        },
        {
          onProgress: (p) => {
            const pct = p.total ? (100 * p.done) / p.total : 0;
            progress.report({ increment: pct - last, message: `${p.done} / ${p.total}` });
            last = pct;
          },
        },
      );
    },
  );
  await update('ragIndex', dir);
  void vscode.window.showInformationMessage(
    `Relation Lens: indexed ${r.count} example(s) (${r.kind}) in ${dir}; extraction now retrieves k=${readSettings().k} examples.`,
  );
}

/** relationLens.export */
async function exportRecords(): Promise<void> {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc || !isRecordDocument(doc))
    return void vscode.window.showWarningMessage(
      'Relation Lens: open a JSONL file of records first.',
    );
  const records = [...recordLines(doc)].map((l) => l.record);
  const rs = (await relationSetFor(doc.uri, readSettings(), records))?.set;
  const formats = [
    {
      label: 'Canonical JSONL (valid records only)',
      ext: 'jsonl',
      make: () => records.map(serializeRecord).join('\n') + '\n',
    },
    { label: 'SemEval answer key', ext: 'txt', make: () => exportSemEvalAnswers(records) },
    {
      label: 'DocRED submission',
      ext: 'json',
      make: () => JSON.stringify(toDocRedSubmission(records, rs)),
    },
    {
      label: 'FinRE / SanWen TSV',
      ext: 'txt',
      make: () => exportChineseTsv(records, rs?.noRelation ?? 'unknown'),
    },
    { label: 'doccano JSONL', ext: 'jsonl', make: () => exportDoccano(records) },
    {
      label: 'SFT (alpaca)',
      ext: 'json',
      make: async () => exportSftAlpaca(records, await templateFor(readSettings(), doc.uri), rs),
    },
    {
      label: 'SFT (chat)',
      ext: 'jsonl',
      make: async () => exportSftChat(records, await templateFor(readSettings(), doc.uri), rs),
    },
  ];
  const pick = await vscode.window.showQuickPick(formats, { title: 'Relation Lens: export as…' });
  if (!pick) return;
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(doc.uri.fsPath.replace(/\.jsonl$/i, `.export.${pick.ext}`)),
  });
  if (!target) return;
  if (target.fsPath === doc.uri.fsPath)
    return void vscode.window.showErrorMessage(
      'Relation Lens: the export would replace the file it is made from; choose another file.',
    );
  const data = await pick.make();
  await writeFileAtomic(target.fsPath, typeof data === 'string' ? data : JSON.stringify(data));
  void vscode.window.showInformationMessage(
    `Relation Lens: exported ${records.length} record(s) to ${target.fsPath}.`,
  );
}

/** relationLens.showPrompt */
async function showPrompt(
  s: Services,
  ref?: { uri?: string; line?: number; relation?: number },
): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const doc = ref?.uri
    ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === ref.uri)
    : editor?.document;
  const line = ref?.line ?? editor?.selection.active.line ?? 0;
  const record = doc ? recordAt(doc, line) : null;
  if (!doc || !record)
    return void vscode.window.showWarningMessage('Relation Lens: put the cursor on a record.');
  const rel = record.relations[ref?.relation ?? 0];
  const [h, t] = rel
    ? [rel.head, rel.tail]
    : (record.pairs?.[0] ?? [record.entities[0]?.id, record.entities[1]?.id]);
  const head = record.entities.find((e) => e.id === h);
  const tail = record.entities.find((e) => e.id === t);
  if (!head || !tail)
    return void vscode.window.showWarningMessage('Relation Lens: this record has no entity pair.');
  const settings = readSettings();
  const rs = (await relationSetFor(doc.uri, settings, [record]))?.set;
  const template = await templateFor(settings, doc.uri);
  if (!rs)
    return void vscode.window.showWarningMessage(
      'Relation Lens: no relation set for this file (Select Relation Set…).',
    );
  const p = pairPrompt(record, head, tail, {
    relationSet: rs,
    template,
    answerCodes: settings.answers === 'codes',
  });
  const content = `# Prompt for ${head.name} → ${tail.name} (record ${record.id}, template ${template.name})\n\n${p.system ? `## system\n\n${p.system}\n\n` : ''}## user\n\n${p.user}\n`;
  await vscode.window.showTextDocument(
    await vscode.workspace.openTextDocument({ language: 'markdown', content }),
    { preview: true, viewColumn: vscode.ViewColumn.Beside },
  );
}

/** relationLens.runSample */
async function runSample(s: Services): Promise<void> {
  const { context, log, engine, runs } = s;
  // The walkthrough's last step: the bundled SemEval sample, imported and opened.
  // A copy in the extension's storage, so that the installed sample stays untouched.
  const dir = context.globalStorageUri.fsPath;
  const sample = path.join(dir, 'semeval-sample.jsonl');
  await fs.mkdir(dir, { recursive: true });
  await fs.copyFile(context.asAbsolutePath(path.join('samples', 'semeval-sample.jsonl')), sample);
  const doc = await vscode.workspace.openTextDocument(sample);
  await vscode.window.showTextDocument(doc);
  await extractRelations(engine, runs, log, 'file');
}
