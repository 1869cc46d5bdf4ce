/**
 * "Extract Relations": on the selection, the current record or the whole file of a record JSONL
 * (predictions are merged into the records with one undoable edit; gold, human and decided
 * relations stay), or on plain text (the model finds the entities first; the result goes to
 * `<file>.relations.jsonl`). Runs in the engine process with a cancellable progress
 * notification; what finished before a cancel or a crash is kept.
 */
import * as vscode from 'vscode';
import { mergePredictions } from '../core/curation';
import { serializeRecord } from '../core/formats/canonical';
import { freshRecordId } from '../core/formats/common';
import { RelRecord, RelationSet, candidatePairs, isDocumentRecord } from '../core/schema';
import { builtinTemplate } from '../core/prompts/builtin';
import { PromptTemplate } from '../core/prompts/template';
import { EngineCrashedError } from '../node/engineClient';
import { appendLines } from '../node/output';
import { ExtractResult, ExtractedItem, Progress } from '../protocol/engine';
import { readSettings, resolvePath } from './config';
import { EngineService } from './engineService';
import { isRecordDocument, recordLines, replaceRecords } from './records';
import { relationSetFor, templateFor } from './resources';
import { RunHistory } from './runs';
import { readSidecar, sidecarUri } from './textOverlay';
import { textSha256 } from '../node/provenance';

export type Scope = 'selection' | 'line' | 'file';

async function pickScope(editor: vscode.TextEditor, forced?: Scope): Promise<Scope | undefined> {
  if (forced) return forced;
  if (!editor.selection.isEmpty) return 'selection';
  const picked = await vscode.window.showQuickPick(
    [
      {
        label: 'Whole file',
        scope: 'file' as const,
        description: editor.document.uri.path.split('/').pop(),
      },
      {
        label: isRecordDocument(editor.document) ? 'Current record' : 'Current line',
        scope: 'line' as const,
        description: `line ${editor.selection.active.line + 1}`,
      },
    ],
    { title: 'Relation Lens: extract relations from…' },
  );
  return picked?.scope;
}

export function isDocumentLevel(r: RelRecord, method: 'auto' | 'sentence' | 'document'): boolean {
  if (method !== 'auto') return method === 'document';
  return isDocumentRecord(r);
}

export async function extractRelations(
  engine: EngineService,
  runs: RunHistory,
  log: vscode.LogOutputChannel,
  forced?: Scope,
): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor)
    return void vscode.window.showWarningMessage(
      'Relation Lens: open a file first (records in JSONL, or plain text).',
    );
  const scope = await pickScope(editor, forced);
  if (!scope) return;
  if (isRecordDocument(editor.document))
    return extractFromRecords(editor, scope, engine, runs, log);
  return extractFromText(editor, scope, { engine, runs, log });
}

/** Plain text (a selection, a line or the whole file): document-level extraction into the sidecar. */
async function extractFromText(
  editor: vscode.TextEditor,
  scope: Scope,
  sv: { engine: EngineService; runs: RunHistory; log: vscode.LogOutputChannel },
): Promise<void> {
  const { engine, runs, log } = sv;
  const doc = editor.document;
  const s = readSettings();
  const range =
    scope === 'selection'
      ? editor.selection
      : scope === 'line'
        ? doc.lineAt(editor.selection.active.line).range
        : undefined;
  const text = doc.getText(range);
  if (!text.trim())
    return void vscode.window.showWarningMessage(
      'Relation Lens: there is no text to extract from.',
    );
  const rs = await relationSetFor(doc.uri, s, []);
  if (!rs) return void askForRelationSet();
  const id = `${doc.uri.path.split('/').pop()}${range ? `:${range.start.line + 1}` : ''}`;
  const result = await run(log, `Extracting relations from ${id}`, (signal, progress) =>
    engine.client.request(
      'extract',
      {
        engine: engine.engineSettings(doc.uri),
        job: {
          kind: 'document',
          inputs: [{ id, text }],
          relationSet: rs.set,
          template: documentTemplate(s.documentTemplate, doc.uri),
          k: s.documentK,
          mode: s.documentMode,
          filter: documentFilter(s.documentFilter, doc.uri),
        },
      },
      { signal, onProgress: progress },
    ),
  );
  if (!result) return;
  // Where each record's text starts in the file and the file's hash: the text shows the triples
  // at these offsets and notices when it changed since.
  const source = {
    file: doc.uri.fsPath,
    offset: range ? doc.offsetAt(range.start) : 0,
    sha256: textSha256(doc.getText()),
  };
  // The same text extracted again: a new record beside the old one (its decisions stay), under an
  // id of its own (`paragraph.txt~2`), so the sidecar never holds two records with one id.
  const taken = new Set(
    doc.uri.scheme === 'file' ? ((await readSidecar(doc.uri)) ?? []).map((l) => l.record.id) : [],
  );
  const lines = result.items.map((i) => {
    const id = freshRecordId(i.record.id, taken);
    taken.add(id);
    return serializeRecord({ ...i.record, id, meta: { ...(i.record.meta ?? {}), source } });
  });
  const target = await writeSidecar(doc, lines);
  if (!target) return;
  // A saved text shows its triples inline (TextOverlayController); an unsaved one gets the records.
  if (doc.uri.scheme !== 'file') await vscode.window.showTextDocument(target, { preview: false });
  runs.add({
    file: doc.uri.fsPath,
    kind: 'document',
    records: result.items.length,
    result,
    relationSet: rs.from,
  });
  summarize(
    engine,
    result,
    `${result.items.reduce((n, i) => n + i.record.relations.length, 0)} relation(s)${doc.uri.scheme === 'file' ? ' shown in the text and' : ''} stored in ${target.uri.path.split('/').pop()}`,
  );
}

/**
 * Adds record lines to the text's sidecar `<file>.relations.jsonl` (an untitled document for an
 * unsaved text). The sidecar is the store: appended without touching its existing bytes, or —
 * when it is open in an editor — edited through its buffer (undoable, unsaved edits kept).
 * Undefined (after telling the user) when nothing could be written.
 */
async function writeSidecar(
  doc: vscode.TextDocument,
  lines: string[],
): Promise<vscode.TextDocument | undefined> {
  if (doc.uri.scheme !== 'file')
    return vscode.workspace.openTextDocument({
      language: 'jsonl',
      content: lines.join('\n') + '\n',
    });
  const out = sidecarUri(doc.uri);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === out.toString());
  if (open) {
    const edit = new vscode.WorkspaceEdit();
    const end = open.lineAt(open.lineCount - 1);
    edit.insert(out, end.range.end, (end.text ? '\n' : '') + lines.join('\n') + '\n');
    if (await vscode.workspace.applyEdit(edit)) return open;
    void vscode.window.showErrorMessage(
      `Relation Lens: could not add the relations to ${out.fsPath}; nothing was changed.`,
    );
    return undefined;
  }
  try {
    await appendLines(out.fsPath, lines);
  } catch (e) {
    void vscode.window.showErrorMessage(`Relation Lens: ${(e as Error).message}`);
    return undefined;
  }
  return vscode.workspace.openTextDocument(out);
}

/** A built-in document template by name, else a template file resolved against the workspace. */
export function documentTemplate(t: string, doc: vscode.Uri): string {
  return builtinTemplate('document', t) ? t : resolvePath(t, doc);
}

function documentFilter(f: string, doc: vscode.Uri): 'none' | 'llm' | 'auto' | { file: string } {
  return f === 'none' || f === 'llm' || f === 'auto' ? f : { file: resolvePath(f, doc) };
}

function askForRelationSet(): void {
  void vscode.window
    .showErrorMessage(
      'Relation Lens: no relation set for this file. Select one (a relation-set JSON, rel_info.json or relation2id.txt), or put relations.json next to the file.',
      'Select Relation Set…',
    )
    .then((p) => {
      if (p) void vscode.commands.executeCommand('relationLens.selectRelationSet');
    });
}

async function extractFromRecords(
  editor: vscode.TextEditor,
  scope: Scope,
  engine: EngineService,
  runs: RunHistory,
  log: vscode.LogOutputChannel,
): Promise<void> {
  const doc = editor.document;
  const s = readSettings();
  const [from, to] =
    scope === 'file'
      ? [0, doc.lineCount - 1]
      : scope === 'line'
        ? [editor.selection.active.line, editor.selection.active.line]
        : [editor.selection.start.line, editor.selection.end.line];
  const lines = [...recordLines(doc, from, to)].map((x) => ({
    ...x,
    text: doc.lineAt(x.line).text,
  }));
  if (!lines.length)
    return void vscode.window.showWarningMessage(
      `Relation Lens: no valid record ${scope === 'file' ? 'in this file' : scope === 'line' ? 'on this line' : 'in the selection'} (see Validate Records).`,
    );
  const rs = await relationSetFor(
    doc.uri,
    s,
    lines.map((l) => l.record),
  );
  if (!rs) return void askForRelationSet();
  const docLevel = lines.filter((l) => isDocumentLevel(l.record, s.method));
  const sentLevel = lines.filter((l) => !isDocumentLevel(l.record, s.method));
  const template = await templateFor(s, doc.uri);
  const result = await run(
    log,
    `Extracting relations (${lines.length} record(s))`,
    (signal, progress) =>
      extractJobs(
        engine,
        {
          doc,
          sentLevel: sentLevel.map((l) => l.record),
          docLevel: docLevel.map((l) => l.record),
          rs: rs.set,
          template,
        },
        signal,
        progress,
      ),
  );
  if (!result) return;
  const byId = new Map(result.items.map((i) => [i.record.id, i]));
  const changes = lines.flatMap((l) => {
    const it = byId.get(l.record.id);
    return it
      ? [
          {
            line: l.line,
            expected: l.text,
            record: mergePredictions(l.record, it.record, it.pairs),
          },
        ]
      : [];
  });
  const applied = await replaceRecords(doc, changes);
  if (applied.skipped.length)
    void vscode.window.showWarningMessage(
      `Relation Lens: ${applied.skipped.length} line(s) changed during the run and were left alone (lines ${applied.skipped
        .slice(0, 5)
        .map((l) => l + 1)
        .join(', ')}).`,
    );
  runs.add({
    file: doc.uri.fsPath,
    kind: docLevel.length && sentLevel.length ? 'mixed' : docLevel.length ? 'document' : 'sentence',
    records: lines.length,
    result,
    relationSet: rs.from,
  });
  summarize(engine, result, `${applied.applied} record(s) updated`);
}

/**
 * The engine jobs of a record file: the sentence-level records in one job, the document-level
 * ones in another, with one progress count over both.
 */
export async function extractJobs(
  engine: EngineService,
  w: {
    doc: vscode.TextDocument;
    sentLevel: RelRecord[];
    docLevel: RelRecord[];
    rs: RelationSet;
    template: PromptTemplate;
    /** Other adapters than the settings' (a comparison's variant; [] = the base model alone). */
    loras?: Array<{ path: string; scale: number }>;
  },
  signal: AbortSignal,
  progress: (p: Progress) => void,
): Promise<ExtractResult> {
  const s = readSettings();
  const { doc, sentLevel, docLevel } = w;
  const settings = {
    ...engine.engineSettings(doc.uri),
    // A comparison's variant is exactly its adapters: [] is the base model, not the shipped default.
    ...(w.loras ? { loras: w.loras, defaultAdapter: false } : {}),
  };
  const total = sentLevel.reduce((n, r) => n + candidatePairs(r).length, 0) + docLevel.length;
  const parts: ExtractResult[] = [];
  if (sentLevel.length) {
    const server = engine.serverKey();
    const rag = s.ragIndex
      ? {
          rag: {
            index: resolvePath(s.ragIndex, doc.uri),
            k: s.k,
            ...(server ? { server } : {}),
          },
        }
      : {};
    const job = {
      kind: 'sentence' as const,
      records: sentLevel,
      relationSet: w.rs,
      template: w.template,
      mode: s.mode,
      answers: s.answers,
      ...rag,
    };
    parts.push(
      await engine.client.request(
        'extract',
        { engine: settings, job },
        { signal, onProgress: (p) => progress({ ...p, total }) },
      ),
    );
  }
  if (docLevel.length) {
    const offset = parts[0]?.items.reduce((n, i) => n + i.pairs.length, 0) ?? 0;
    const job = {
      kind: 'document' as const,
      inputs: docLevel.map((record) => ({ record })),
      relationSet: w.rs,
      template: documentTemplate(s.documentTemplate, doc.uri),
      k: s.documentK,
      mode: s.documentMode,
      filter: documentFilter(s.documentFilter, doc.uri),
    };
    parts.push(
      await engine.client.request(
        'extract',
        { engine: settings, job },
        { signal, onProgress: (p) => progress({ ...p, done: offset + p.done, total }) },
      ),
    );
  }
  return combine(parts);
}

function combine(parts: ExtractResult[]): ExtractResult {
  const first = parts[0]!;
  const elapsedMs = parts.reduce((a, p) => a + p.elapsedMs, 0);
  return {
    items: parts.flatMap((p) => p.items),
    engine: first.engine,
    tokensPerSecond: elapsedMs
      ? parts.reduce((a, p) => a + p.tokensPerSecond * p.elapsedMs, 0) / elapsedMs
      : 0,
    elapsedMs,
    errors: parts.flatMap((p) => p.errors),
    report: parts.find((p) => p.report)?.report,
  };
}

function summarize(engine: EngineService, r: ExtractResult, what: string): void {
  if (r.partial) return;
  engine.finished(r);
  const errs = r.errors.length ? ` ${r.errors.length} problem(s): ${r.errors[0]}` : '';
  void vscode.window.showInformationMessage(
    `Relation Lens: ${what} in ${(r.elapsedMs / 1000).toFixed(1)} s (${r.engine.backend}, ${r.tokensPerSecond.toFixed(0)} tokens/s${r.engine.defaultAdapter ? `; ${r.engine.defaultAdapter}` : ''}).${errs}`,
  );
}

export async function run(
  log: vscode.LogOutputChannel,
  title: string,
  fn: (signal: AbortSignal, progress: (p: Progress) => void) => Promise<ExtractResult>,
): Promise<ExtractResult | undefined> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Relation Lens: ${title}`,
      cancellable: true,
    },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      let last = 0;
      const partial: ExtractedItem[] = [];
      const t0 = Date.now();
      try {
        const r = await fn(controller.signal, (p) => {
          if (p.item) partial.push(p.item);
          const pct = p.total ? (100 * p.done) / p.total : 0;
          progress.report({
            increment: pct - last,
            message: p.message ?? `${p.done} / ${p.total}`,
          });
          last = pct;
        });
        log.info(
          `${title}: ${r.items.length} item(s), ${r.elapsedMs} ms, ${r.tokensPerSecond.toFixed(1)} tokens/s, backend ${r.engine.backend}${r.engine.defaultAdapter ? `, LoRA ${r.engine.defaultAdapter}` : ''}`,
        );
        for (const e of r.errors) log.warn(e);
        return r;
      } catch (err) {
        const e = err as Error;
        if (e.name === 'AbortError' || err instanceof EngineCrashedError) {
          // Keep what finished: the records that came back before the cancel (or the crash).
          if (err instanceof EngineCrashedError) log.error(e.message);
          void vscode.window.showInformationMessage(
            `Relation Lens: extraction ${e.name === 'AbortError' ? 'cancelled' : 'stopped'}; ${partial.length} finished record(s) kept.`,
          );
          return partial.length
            ? {
                items: partial,
                engine: { backend: '?', model: '', modelPath: '', adapters: [], threads: 0 },
                tokensPerSecond: 0,
                elapsedMs: Date.now() - t0,
                errors: [],
                partial: true,
              }
            : undefined;
        }
        log.error(`${title}: ${e.message}`);
        void vscode.window.showErrorMessage(`Relation Lens: ${e.message}`);
        return undefined;
      }
    },
  );
}

/** The relation set a document uses (for decorations' no-relation label). */
export async function relationSetOf(doc: vscode.TextDocument): Promise<RelationSet | undefined> {
  return (
    await relationSetFor(
      doc.uri,
      readSettings(),
      [...recordLines(doc, 0, Math.min(doc.lineCount - 1, 50))].map((l) => l.record),
    ).catch(() => undefined)
  )?.set;
}
