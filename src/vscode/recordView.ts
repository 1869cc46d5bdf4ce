/**
 * The record view: a custom editor for record files (`*.jsonl`, "Reopen Editor With…" or
 * "Relation Lens: Open Record View"; the text editor stays the default). It is backed by the same
 * TextDocument, so every action is a normal edit of that record's line — undo, dirty state and
 * save are VS Code's own, and a text editor open beside it stays in sync both ways. The webview
 * (webview/recordView.ts) shows each record's text with its entity mentions and the relations as
 * arcs, and takes the curator's keys; this host turns each action into a line replacement.
 */
import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';
import { labelDetail, labelNamer, labelNames, storedLabel } from '../core/editor/labels';
import { CurationAction, curate, ignoreRecord } from '../core/curation';
import {
  addEntity,
  addRelation,
  deleteRelation,
  labelsForPair,
  recordView,
  viewPages,
} from '../core/editor/recordView';
import { RelRecord, RelationSet, isIgnoredRecord } from '../core/schema';
import {
  RECORD_VIEW_ACTIONS,
  RECORD_VIEW_FOCUS,
  RECORD_VIEW_INPUT_FOCUS,
  RecordItem,
  RecordViewAction,
  recordItem,
  ViewHostMessage,
  ViewMessage,
  ViewMessageSchema,
} from '../protocol/recordView';
import { relationSetOf } from './extract';
import { Disposable } from './lifecycle';
import { readSettings } from './config';
import { recordAt, recordLines, replaceRecords } from './records';

export const RECORD_VIEW = 'relationLens.recordView';

/** Records to show alone (by id), and what they are (e.g. "gold X, predicted Y"). */
export interface OnlyRecords {
  ids: string[];
  title: string;
}

const isOnlyRecords = (x: unknown): x is OnlyRecords =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as OnlyRecords).title === 'string' &&
  Array.isArray((x as OnlyRecords).ids) &&
  (x as OnlyRecords).ids.every((i) => typeof i === 'string');

export class RecordViewProvider extends Disposable implements vscode.CustomTextEditorProvider {
  private readonly sessions = new Set<RecordViewSession>();
  /** Records to show alone in a view of this file once it opens (by URI). */
  private readonly wanted = new Map<string, OnlyRecords>();

  constructor(
    private readonly media: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this._register(
      vscode.commands.registerCommand(
        'relationLens.openRecordView',
        (uri?: unknown, only?: unknown) => openRecordView(this, uri, only),
      ),
    );
    // One command per action, bound to keys in package.json (users remap them): the active view does it.
    for (const action of Object.keys(RECORD_VIEW_ACTIONS) as RecordViewAction[])
      this._register(
        vscode.commands.registerCommand(`relationLens.recordView.${action}`, () =>
          [...this.sessions].find((s) => s.active)?.act(action),
        ),
      );
  }

  /** Shows only these records in the view of `uri`: now if it is open, else when it opens. */
  showOnly(uri: vscode.Uri, only: OnlyRecords): void {
    const open = [...this.sessions].find((v) => v.uri.toString() === uri.toString());
    if (open) open.showOnly(only);
    else this.wanted.set(uri.toString(), only);
  }

  resolveCustomTextEditor(doc: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    const view = new RecordViewSession(doc, panel, this.media, this.log);
    this.sessions.add(view);
    const only = this.wanted.get(doc.uri.toString());
    this.wanted.delete(doc.uri.toString());
    if (only) view.showOnly(only);
    panel.onDidDispose(() => {
      this.sessions.delete(view);
      view.dispose();
    });
  }
}

/**
 * relationLens.openRecordView: the record view of `uri` (default: the active editor's file); with
 * `only`, showing just those records (a click in the panel's evaluation) until the curator clears it.
 */
export async function openRecordView(
  provider: RecordViewProvider,
  uri?: unknown,
  only?: unknown,
): Promise<void> {
  const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (!target || !target.path.toLowerCase().endsWith('.jsonl'))
    return void vscode.window.showWarningMessage(
      'Relation Lens: open a JSONL file of records first.',
    );
  if (only !== undefined && !isOnlyRecords(only))
    throw new Error('relationLens.openRecordView: the second argument is { ids: string[], title }');
  if (only) provider.showOnly(target, only);
  await vscode.commands.executeCommand('vscode.openWith', target, RECORD_VIEW);
}

/** The record-view keybindings' context keys (see RECORD_VIEW_KEYS_WHEN). */
function setFocus(view: boolean, input: boolean): void {
  void vscode.commands.executeCommand('setContext', RECORD_VIEW_FOCUS, view);
  void vscode.commands.executeCommand('setContext', RECORD_VIEW_INPUT_FOCUS, input);
}

/** One open record view: the document's records out, the curator's actions in. */
class RecordViewSession extends Disposable {
  private relationSet: RelationSet | undefined;
  /** Records to show alone, sent once the webview is ready. */
  private only: OnlyRecords | undefined;
  private ready = false;

  constructor(
    private readonly doc: vscode.TextDocument,
    private readonly panel: vscode.WebviewPanel,
    media: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    panel.webview.options = { enableScripts: true, localResourceRoots: [media] };
    panel.webview.html = webviewHtml(this.panel.webview, media, {
      script: 'recordView.js',
      style: 'recordView.css',
      title: 'Record view',
    });
    this._register(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        const parsed = ViewMessageSchema.safeParse(m);
        if (!parsed.success) return this.log.warn(`record view: ignored a malformed message`);
        this.handle(parsed.data).catch((e: Error) => {
          this.log.warn(`record view ${parsed.data.type}: ${e.message}`);
          void vscode.window.showErrorMessage(`Relation Lens: ${e.message}`);
        });
      }),
    );
    // A text field's focus ends with the view's.
    this._register(
      panel.onDidChangeViewState((e) => !e.webviewPanel.active && setFocus(false, false)),
    );
    // The cursor in a text editor of the same file moves the view to that record.
    this._register(
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor.document === doc && panel.visible)
          this.post({ type: 'focus', line: e.selections[0]!.active.line });
      }),
    );
    this._register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document !== doc || !e.contentChanges.length) return;
        const whole = e.contentChanges.some(
          (c) => c.range.start.line !== c.range.end.line || c.text.includes('\n'),
        );
        // Lines added or removed: every record is sent again, and the records shown alone
        // (followed by id) get their new lines.
        if (whole) return void this.sendAll().then(() => this.postOnly());
        const lines = [...new Set(e.contentChanges.map((c) => c.range.start.line))];
        this.send(lines, false);
      }),
    );
  }

  get active(): boolean {
    return this.panel.active;
  }

  get uri(): vscode.Uri {
    return this.doc.uri;
  }

  showOnly(only: OnlyRecords): void {
    this.only = only;
    if (this.ready) this.postOnly();
    this.panel.reveal();
  }

  /** The lines of the `only` records (ids no longer in the file are said in the title). */
  private postOnly(): void {
    if (!this.only) return;
    const want = new Set(this.only.ids);
    const lines: number[] = [];
    for (const { line, record } of recordLines(this.doc))
      if (want.delete(record.id)) lines.push(line);
    const title = want.size
      ? `${this.only.title}; ${want.size} not in the file any more`
      : this.only.title;
    this.post({ type: 'only', lines, title });
  }

  /** A record-view command for this view (its keybinding was pressed). */
  act(action: RecordViewAction): void {
    this.post({ type: 'action', action });
  }

  private post(m: ViewHostMessage): void {
    void this.panel.webview.postMessage(m);
  }

  private async sendAll(): Promise<void> {
    this.relationSet = await relationSetOf(this.doc).catch(() => undefined);
    this.send(
      Array.from({ length: this.doc.lineCount }, (_, i) => i),
      true,
    );
  }

  /** Bumped by every whole-file send: pages of an older one still queued are dropped. */
  private generation = 0;

  private send(lines: number[], reset: boolean): void {
    const base = {
      type: 'records' as const,
      file: this.doc.uri.path.split('/').pop() ?? '',
      labels: this.relationSet ? labelsForPair(this.relationSet) : [],
      labelNames: labelNames(this.relationSet),
    };
    // A whole-file send supersedes the pages of an earlier one; a few changed lines do not.
    const gen = reset ? ++this.generation : this.generation;
    // Views are built page by page too, so a 50k-record file never blocks the extension host.
    const pages = viewPages(lines);
    const post = (i: number) =>
      this.post({ ...base, reset: reset && i === 0, ...this.views(pages[i]!) });
    post(0);
    // The rest between the view's frames; a newer send supersedes what is still queued.
    const next = (i: number) => {
      if (i >= pages.length || gen !== this.generation) return;
      post(i);
      setTimeout(() => next(i + 1), 0);
    };
    setTimeout(() => next(1), 0);
  }

  /** The views of these lines (their records), and the non-empty lines that hold none. */
  private views(lines: number[]): { items: RecordItem[]; invalid: number[] } {
    const items: RecordItem[] = [];
    const invalid: number[] = [];
    const noRelation = this.relationSet?.noRelation;
    const nameOf = labelNamer(this.relationSet);
    for (const line of lines) {
      if (line >= this.doc.lineCount) continue;
      const record = recordAt(this.doc, line);
      if (record) items.push(recordItem(line, recordView(record, noRelation, nameOf)));
      else if (this.doc.lineAt(line).text.trim()) invalid.push(line);
    }
    return { items, invalid };
  }

  private async handle(m: ViewMessage): Promise<void> {
    if (m.type === 'ready') {
      await this.sendAll();
      this.ready = true;
      return this.postOnly();
    }
    if (m.type === 'focusState') return setFocus(m.view && this.panel.active, m.input);
    if (m.type === 'clearOnly') {
      this.only = undefined;
      return;
    }
    if (m.type === 'openText') return this.openText([m.line], false);
    if (m.type === 'extract') return this.openText(m.lines, true);
    const record = recordAt(this.doc, m.line);
    if (!record) throw new Error(`line ${m.line + 1} is not a valid record`);
    const next =
      m.type === 'ignoreRecord'
        ? ignoreRecord(record, !isIgnoredRecord(record), readSettings().annotator)
        : await this.edit(record, m);
    if (!next) return;
    const r = await replaceRecords(this.doc, [
      { line: m.line, expected: this.doc.lineAt(m.line).text, record: next },
    ]);
    if (r.skipped.length)
      throw new Error(`line ${m.line + 1} changed meanwhile; nothing was written`);
  }

  /** The record after the action (undefined: the curator cancelled a pick). */
  private async edit(
    record: RelRecord,
    m: Extract<ViewMessage, { type: 'curate' | 'addRelation' | 'addEntity' }>,
  ): Promise<RelRecord | undefined> {
    if (m.type === 'addEntity') return addEntity(record, m).record;
    if (m.type === 'addRelation') {
      const h = m.head ?? (await this.pickEntity(record, 'head'));
      const t =
        h === undefined ? undefined : (m.tail ?? (await this.pickEntity(record, 'tail', h)));
      if (h === undefined || t === undefined) return undefined;
      const head = record.entities[h];
      const tail = record.entities[t];
      if (!head || !tail || h === t) throw new Error('pick two different entities');
      const label = await this.pickLabel(record, head.id, tail.id);
      return label
        ? addRelation(record, { head: head.id, tail: tail.id, label }, readSettings().annotator)
        : undefined;
    }
    const rel = record.relations[m.relation];
    if (!rel) throw new Error(`record ${record.id} has no relation ${m.relation}`);
    if (m.action === 'delete') return deleteRelation(record, m.relation);
    let action: CurationAction;
    if (m.action === 'relabel') {
      const label = await this.pickLabel(record, rel.head, rel.tail, rel.label);
      if (!label) return undefined;
      action = { kind: 'edit', label };
    } else action = { kind: m.action };
    return curate(record, m.relation, action, readSettings().annotator);
  }

  private async pickEntity(
    record: RelRecord,
    role: 'head' | 'tail',
    not?: number,
  ): Promise<number | undefined> {
    const pick = await vscode.window.showQuickPick(
      record.entities
        .map((e, i) => ({ label: e.name, description: e.type ?? undefined, i }))
        .filter((e) => e.i !== not),
      { title: `Relation Lens: the new relation's ${role} in ${record.id}` },
    );
    return pick?.i;
  }

  /**
   * A quick pick of the labels the pair's entity types admit (all labels without a set: those in
   * the file's record), by name with each label's description (the guideline at hand) and its id
   * where the set has one; the record gets the label in the form it stores (ids stay ids).
   */
  private async pickLabel(
    record: RelRecord,
    head: string,
    tail: string,
    current?: string,
  ): Promise<string | undefined> {
    const type = (id: string) => record.entities.find((e) => e.id === id)?.type;
    const name = (id: string) => record.entities.find((e) => e.id === id)?.name ?? id;
    const rs = this.relationSet;
    const nameOf = labelNamer(rs);
    const store = storedLabel(rs, record);
    const info = new Map((rs?.labels ?? []).map((l) => [l.name, l]));
    const labels = rs
      ? labelsForPair(rs, type(head), type(tail))
      : [...new Set(record.relations.map((r) => nameOf(r.label)))];
    const now = current === undefined ? undefined : nameOf(current);
    const pick = await vscode.window.showQuickPick(
      labels.map((l) => {
        const d = info.get(l);
        const notes = [d?.id && d.id !== l ? d.id : '', l === now ? 'current' : ''].filter(Boolean);
        return {
          label: l,
          ...(notes.length ? { description: notes.join(' · ') } : {}),
          ...(labelDetail(d) ? { detail: labelDetail(d) } : {}),
          stored: store(l),
        };
      }),
      {
        title: `Relation Lens: ${name(head)} → ${name(tail)}`,
        matchOnDescription: true,
      },
    );
    return pick?.stored;
  }

  /** Shows the lines in the text editor beside; with `extract`, runs extraction on them. */
  private async openText(lines: number[], extract: boolean): Promise<void> {
    const first = Math.min(...lines);
    const last = Math.max(...lines);
    const editor = await vscode.window.showTextDocument(this.doc, {
      viewColumn: vscode.ViewColumn.Beside,
      selection: new vscode.Range(first, 0, last, this.doc.lineAt(last).text.length),
      preserveFocus: false,
    });
    editor.revealRange(editor.selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    if (extract) await vscode.commands.executeCommand('relationLens.extractRelations', 'selection');
  }
}

/** relationLens.openRecordView: the active (or given) JSONL file in the record view. */
