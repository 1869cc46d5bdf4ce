/**
 * Inline triples and entity highlights for record files. Only the lines in (and near) the
 * visible ranges are decorated; a scroll re-decorates after a short debounce, an edit at once.
 * The hover shows a record's triples with score, model, adapters, retrieved examples and a link
 * to the prompt that produced them.
 */
import * as vscode from 'vscode';
import { TripleStatus } from '../core/curation';
import { recordHoverMarkdown } from '../core/editor/hover';
import { guidelinesMarkdown } from '../core/editor/labels';
import { lineDecorations } from '../core/editor/lineDecorations';
import { RelationSet } from '../core/schema';
import { isRecordDocument, lineCache, recordAt } from './records';
import { Disposable } from './lifecycle';

const STATUS_COLORS: Record<TripleStatus, string> = {
  agree: 'relationLens.agreeForeground',
  'wrong-label': 'relationLens.wrongLabelForeground',
  extra: 'relationLens.extraForeground',
  missing: 'relationLens.missingForeground',
  prediction: 'relationLens.predictionForeground',
  gold: 'relationLens.goldForeground',
};
const STATUSES = Object.keys(STATUS_COLORS) as TripleStatus[];
export const ENTITY_COLORS = 8;
const MARGIN = 30;

/**
 * The decoration types of inline triples (one per status, after the text, in the status's theme
 * colour) and of entity mentions (one background per entity colour); the caller owns them.
 */
export function inlineDecorationTypes(margin: string): {
  triples: Map<TripleStatus, vscode.TextEditorDecorationType>;
  entities: vscode.TextEditorDecorationType[];
} {
  const triples = new Map<TripleStatus, vscode.TextEditorDecorationType>();
  for (const s of STATUSES)
    triples.set(
      s,
      vscode.window.createTextEditorDecorationType({
        after: {
          margin: `0 0 0 ${margin}`,
          color: new vscode.ThemeColor(STATUS_COLORS[s]),
          fontStyle: s === 'missing' ? 'italic' : 'normal',
        },
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      }),
    );
  const entities = Array.from({ length: ENTITY_COLORS }, (_, i) =>
    vscode.window.createTextEditorDecorationType({
      backgroundColor: new vscode.ThemeColor(`relationLens.entity${i}Background`),
      borderRadius: '2px',
    }),
  );
  return { triples, entities };
}

export class DecorationController extends Disposable {
  private readonly tripleTypes = new Map<TripleStatus, vscode.TextEditorDecorationType>();
  private readonly entityTypes: vscode.TextEditorDecorationType[] = [];
  private timer: NodeJS.Timeout | undefined;
  private enabled: boolean;
  /** Milliseconds of the last update (for the status line and the benchmark's cross-check). */
  lastUpdateMs = 0;

  constructor(
    enabled: boolean,
    private readonly noRelation: () => string | null | undefined,
    /** Label ids to names (the relation set's, e.g. DocRED's P-numbers). */
    private readonly nameOf: () => (label: string) => string = () => (l) => l,
  ) {
    super();
    this.enabled = enabled;
    const types = inlineDecorationTypes('2em');
    for (const [k, t] of types.triples) this.tripleTypes.set(k, this._register(t));
    for (const t of types.entities) this.entityTypes.push(this._register(t));
    this._register(vscode.window.onDidChangeVisibleTextEditors(() => this.refreshAll()));
    this._register(
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.schedule(e.textEditor)),
    );
    this._register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        for (const ed of vscode.window.visibleTextEditors)
          if (ed.document === e.document) this.update(ed);
      }),
    );
    this.refreshAll();
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.refreshAll();
  }

  refreshAll(): void {
    for (const e of vscode.window.visibleTextEditors) this.update(e);
  }

  private schedule(editor: vscode.TextEditor): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.update(editor), 30);
  }

  update(editor: vscode.TextEditor): void {
    const doc = editor.document;
    if (!isRecordDocument(doc)) return;
    const t0 = performance.now();
    const triples = new Map<TripleStatus, vscode.DecorationOptions[]>(STATUSES.map((s) => [s, []]));
    const entities: vscode.Range[][] = this.entityTypes.map(() => []);
    if (this.enabled) {
      const seen = new Set<number>();
      for (const vr of editor.visibleRanges) {
        const from = Math.max(0, vr.start.line - MARGIN);
        const to = Math.min(doc.lineCount - 1, vr.end.line + MARGIN);
        for (let i = from; i <= to; i++) {
          if (seen.has(i)) continue;
          seen.add(i);
          const line = doc.lineAt(i);
          const d = lineDecorations(line.text, lineCache, this.noRelation(), this.nameOf());
          if (!d) continue;
          const end = line.range.end;
          for (const s of STATUSES) {
            const text = d.triples.filter((t) => t.status === s).map((t) => t.text);
            if (text.length)
              triples.get(s)!.push({
                range: new vscode.Range(end, end),
                renderOptions: { after: { contentText: text.join('   ') } },
              });
          }
          for (const m of d.mentions)
            entities[m.entity % ENTITY_COLORS]!.push(new vscode.Range(i, m.start, i, m.end));
        }
      }
    }
    for (const s of STATUSES) editor.setDecorations(this.tripleTypes.get(s)!, triples.get(s)!);
    this.entityTypes.forEach((t, i) => editor.setDecorations(t, entities[i]!));
    this.lastUpdateMs = performance.now() - t0;
  }

  override dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    super.dispose();
  }
}

export class RecordHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly noRelation: () => string | null | undefined,
    private readonly nameOf: () => (label: string) => string = () => (l) => l,
    private readonly relationSet: () => RelationSet | undefined = () => undefined,
  ) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const record = recordAt(doc, pos.line);
    if (!record) return undefined;
    const d = lineDecorations(
      doc.lineAt(pos.line).text,
      lineCache,
      this.noRelation(),
      this.nameOf(),
    );
    if (!d || !d.triples.length) return undefined;
    const md = new vscode.MarkdownString(
      recordHoverMarkdown(record, d, (relation) =>
        encodeURIComponent(JSON.stringify([{ uri: doc.uri.toString(), line: pos.line, relation }])),
      ),
      true,
    );
    md.isTrusted = {
      enabledCommands: [
        'relationLens.showPrompt',
        'relationLens.acceptRelation',
        'relationLens.rejectRelation',
        'relationLens.ignoreRelation',
      ],
    };
    md.supportHtml = false;
    // The labels' guidelines: the relation set's own Markdown, untrusted (no command runs from it).
    const guide = guidelinesMarkdown(
      this.relationSet(),
      d.triples.map((t) => t.label),
    );
    if (!guide) return new vscode.Hover(md);
    const g = new vscode.MarkdownString(guide);
    g.isTrusted = false;
    g.supportHtml = false;
    return new vscode.Hover([md, g]);
  }
}
