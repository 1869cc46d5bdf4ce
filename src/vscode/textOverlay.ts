/**
 * Triples inline on plain text (and Markdown): the relations extracted from a text file live in its
 * sidecar `<file>.relations.jsonl`; this shows them in the text itself — entity mentions
 * highlighted at their offsets, each relation after the sentence that holds it, a hover with
 * Accept / Reject / Edit that edits the sidecar's record line. The sidecar is read from its open
 * buffer when it is open (unsaved curation shows at once), else from disk (re-read when it
 * changes). A text edited since extraction is re-grounded (core/editor/textOverlay.ts) and the user
 * is told once how many records moved and what could not be placed.
 */
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { TripleStatus } from '../core/curation';
import { TextOverlay, groupTriples, textOverlay } from '../core/editor/textOverlay';
import { RelRecord } from '../core/schema';
import { ENTITY_COLORS, inlineDecorationTypes } from './decorations';
import { Disposable } from './lifecycle';
import { isRecordDocument, lineCache } from './records';

/** The sidecar of a text file: `<file without extension>.relations.jsonl`. */
export function sidecarUri(text: vscode.Uri): vscode.Uri {
  return vscode.Uri.file(`${text.fsPath.replace(/\.[^./\\]+$/, '')}.relations.jsonl`);
}

export function isOverlayDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && !isRecordDocument(doc);
}

type SidecarLines = Array<{ record: RelRecord; line: number }>;

function parseSidecar(text: string): SidecarLines {
  const out: SidecarLines = [];
  text.split('\n').forEach((l, line) => {
    const record = lineCache.get(l);
    if (record) out.push({ record, line });
  });
  return out;
}

/**
 * The records of a text's sidecar: its open buffer (unsaved edits included), else the file
 * (`disk`: parsed files by path, re-read when their mtime changes). Undefined: no sidecar.
 */
export async function readSidecar(
  text: vscode.Uri,
  disk?: Map<string, { mtimeMs: number; lines: SidecarLines }>,
): Promise<SidecarLines | undefined> {
  const uri = sidecarUri(text);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return parseSidecar(open.getText());
  const st = await fs.stat(uri.fsPath).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const cached = disk?.get(uri.fsPath);
  if (cached && cached.mtimeMs === st.mtimeMs) return cached.lines;
  const lines = parseSidecar(await fs.readFile(uri.fsPath, 'utf8'));
  disk?.set(uri.fsPath, { mtimeMs: st.mtimeMs, lines });
  return lines;
}

export class TextOverlayController extends Disposable {
  private readonly tripleTypes = new Map<TripleStatus, vscode.TextEditorDecorationType>();
  private readonly entityTypes: vscode.TextEditorDecorationType[] = [];
  /** Sidecars read from disk, by path, with the mtime they were read at. */
  private readonly disk = new Map<string, { mtimeMs: number; lines: SidecarLines }>();
  /** The last overlay of each text document (for the hover), by uri. */
  private readonly overlays = new Map<string, { version: number; overlay: TextOverlay }>();
  /** Files already told about re-grounding, with the count they were told. */
  private readonly told = new Map<string, number>();

  constructor(
    private enabled: boolean,
    private readonly noRelation: () => string | null | undefined,
    private readonly nameOf: () => ((label: string) => string) | undefined = () => undefined,
  ) {
    super();
    const types = inlineDecorationTypes('1em');
    for (const [k, t] of types.triples) this.tripleTypes.set(k, this._register(t));
    for (const t of types.entities) this.entityTypes.push(this._register(t));
    this.registerEvents();
    this.refreshAll();
  }

  private registerEvents(): void {
    this._register(vscode.window.onDidChangeVisibleTextEditors(() => this.refreshAll()));
    this._register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        const changed = e.document.uri.toString();
        for (const ed of vscode.window.visibleTextEditors)
          // A text's own edits matter only while it shows an overlay (a sidecar appearing on disk
          // comes through the watcher): no sidecar stat on every keystroke in other files.
          if (
            (ed.document === e.document && this.overlays.has(changed)) ||
            sidecarUri(ed.document.uri).toString() === changed
          )
            void this.update(ed);
      }),
    );
    const watcher = this._register(
      vscode.workspace.createFileSystemWatcher('**/*.relations.jsonl'),
    );
    const onDisk = (uri: vscode.Uri) => {
      this.disk.delete(uri.fsPath);
      for (const ed of vscode.window.visibleTextEditors)
        if (sidecarUri(ed.document.uri).fsPath === uri.fsPath) void this.update(ed);
    };
    this._register(watcher.onDidChange(onDisk));
    this._register(watcher.onDidCreate(onDisk));
    this._register(watcher.onDidDelete(onDisk));
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.refreshAll();
  }

  refreshAll(): void {
    for (const e of vscode.window.visibleTextEditors) void this.update(e);
  }

  /** The overlay last shown on a text document (undefined: none, or the text changed since). */
  overlayOf(doc: vscode.TextDocument): TextOverlay | undefined {
    const o = this.overlays.get(doc.uri.toString());
    return o && o.version === doc.version ? o.overlay : undefined;
  }

  async update(editor: vscode.TextEditor): Promise<void> {
    const doc = editor.document;
    if (!isOverlayDocument(doc)) return;
    const lines = this.enabled ? await readSidecar(doc.uri, this.disk) : undefined;
    if (doc.isClosed) return;
    const overlay = lines?.length
      ? textOverlay(doc.getText(), lines, this.noRelation(), this.nameOf())
      : undefined;
    if (overlay) this.overlays.set(doc.uri.toString(), { version: doc.version, overlay });
    else this.overlays.delete(doc.uri.toString());
    const entities: vscode.Range[][] = this.entityTypes.map(() => []);
    for (const m of overlay?.mentions ?? [])
      entities[m.entity % ENTITY_COLORS]!.push(
        new vscode.Range(doc.positionAt(m.start), doc.positionAt(m.end)),
      );
    const triples = new Map<TripleStatus, vscode.DecorationOptions[]>();
    for (const g of groupTriples(overlay?.triples ?? [])) {
      const at = doc.positionAt(g.at);
      const list = triples.get(g.status) ?? [];
      list.push({
        range: new vscode.Range(at, at),
        renderOptions: { after: { contentText: g.text } },
      });
      triples.set(g.status, list);
    }
    for (const [s, t] of this.tripleTypes) editor.setDecorations(t, triples.get(s) ?? []);
    this.entityTypes.forEach((t, i) => editor.setDecorations(t, entities[i]!));
    if (overlay) this.tell(doc, overlay);
  }

  /** Once per file and count: the text changed since extraction, what moved, what is hidden. */
  private tell(doc: vscode.TextDocument, o: TextOverlay): void {
    const key = doc.uri.toString();
    const n = o.stale * 1_000_000 + o.lostMentions;
    if (!o.stale || this.told.get(key) === n) return;
    this.told.set(key, n);
    const name = doc.uri.path.split('/').pop();
    void vscode.window.showInformationMessage(
      `Relation Lens: ${name} changed since its relations were extracted — ${o.stale} record(s) re-grounded by their text` +
        (o.lostMentions
          ? `; ${o.lostMentions} mention(s) no longer found, ${o.hiddenRelations} relation(s) hidden`
          : '') +
        '. Extract again to refresh them.',
    );
  }
}

/** Hover on a highlighted mention or next to a shown triple: the triples with Accept / Reject / Edit. */
export class TextTripleHoverProvider implements vscode.HoverProvider {
  constructor(private readonly overlays: TextOverlayController) {}

  async provideHover(
    doc: vscode.TextDocument,
    pos: vscode.Position,
  ): Promise<vscode.Hover | undefined> {
    const o = this.overlays.overlayOf(doc);
    if (!o) return undefined;
    const off = doc.offsetAt(pos);
    const records = new Set(
      o.mentions.filter((m) => m.start <= off && off <= m.end).map((m) => m.record),
    );
    const line = doc.lineAt(pos.line);
    const here = o.triples.filter(
      (t) =>
        records.has(t.record) ||
        (doc.positionAt(t.at).line === pos.line && pos.character >= line.text.trimEnd().length),
    );
    if (!here.length) return undefined;
    const sidecar = sidecarUri(doc.uri).toString();
    const md = new vscode.MarkdownString('', true);
    for (const t of here.slice(0, 12)) {
      const arg = (action: string) =>
        encodeURIComponent(
          JSON.stringify([{ uri: sidecar, line: t.line, relation: t.relation, action }]),
        );
      const link = (label: string, action: string) =>
        `[${label}](command:relationLens.curateInText?${arg(action)})`;
      md.appendText(t.text);
      for (const q of t.evidence) {
        md.appendMarkdown('\n\n> ');
        md.appendText(q);
      }
      md.appendMarkdown(t.evidence.length ? '\n\n' : '');
      md.appendMarkdown(
        t.source === 'model' &&
          t.decision !== 'accepted' &&
          t.decision !== 'rejected' &&
          t.decision !== 'ignored'
          ? ` — ${link('Accept', 'accept')} · ${link('Reject', 'reject')} · ${link('Ignore', 'ignore')} · ${link('Edit label', 'edit')}\n\n`
          : ` — ${link('Edit label', 'edit')}\n\n`,
      );
    }
    md.isTrusted = { enabledCommands: ['relationLens.curateInText'] };
    return new vscode.Hover(md);
  }
}

/** Decisions taken on a text, newest last: the sidecar line before and after each. */
const decisions: Array<{
  uri: string;
  line: number;
  before: string;
  after: string;
  saved: boolean;
}> = [];

/**
 * relationLens.curateInText: a decision taken on the text is an edit of the sidecar's record line
 * (opened in the background if needed); a sidecar that had no unsaved changes is saved after it,
 * so the decision is on disk like the rest of the file. It can be undone from the text
 * (relationLens.undoInText: the message's Undo button, or the command).
 */
export async function curateInText(ref: {
  uri: string;
  line: number;
  relation: number;
  action: 'accept' | 'reject' | 'ignore' | 'edit';
}): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(ref.uri));
  const wasDirty = doc.isDirty;
  const before = ref.line < doc.lineCount ? doc.lineAt(ref.line).text : undefined;
  const command = {
    accept: 'relationLens.acceptRelation',
    reject: 'relationLens.rejectRelation',
    ignore: 'relationLens.ignoreRelation',
    edit: 'relationLens.editRelation',
  }[ref.action];
  const ok = await vscode.commands.executeCommand<boolean>(command, {
    uri: ref.uri,
    line: ref.line,
    relation: ref.relation,
  });
  if (!ok || before === undefined) return;
  if (!wasDirty) await doc.save();
  const after = doc.lineAt(ref.line).text;
  if (after === before) return;
  decisions.push({ uri: ref.uri, line: ref.line, before, after, saved: !wasDirty });
  if (decisions.length > 100) decisions.shift();
  const done = {
    accept: 'Accepted',
    reject: 'Rejected',
    ignore: 'Set aside (ignored)',
    edit: 'Relabelled',
  }[ref.action];
  void vscode.window
    .showInformationMessage(
      `${done} (${vscode.workspace.asRelativePath(doc.uri)}:${ref.line + 1}).`,
      'Undo',
    )
    .then((pick) => (pick === 'Undo' ? undoInText() : undefined));
}

/**
 * relationLens.undoInText: puts the sidecar line of the newest decision taken on a text back as
 * it was, when the line is still what the decision made it (else it says so and leaves it: the
 * sidecar's own editor has the full undo history). Saved again when the decision had saved it.
 */
export async function undoInText(): Promise<boolean> {
  const d = decisions.pop();
  if (!d) {
    void vscode.window.showInformationMessage(
      'Relation Lens: no decision taken on a text to undo.',
    );
    return false;
  }
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(d.uri));
  const where = `${vscode.workspace.asRelativePath(doc.uri)}:${d.line + 1}`;
  if (d.line >= doc.lineCount || doc.lineAt(d.line).text !== d.after) {
    void vscode.window.showWarningMessage(
      `Relation Lens: ${where} changed after the decision; undo it in that file's editor.`,
    );
    return false;
  }
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, doc.lineAt(d.line).range, d.before);
  if (!(await vscode.workspace.applyEdit(edit))) return false;
  if (d.saved) await doc.save();
  return true;
}
