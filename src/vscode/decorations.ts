/**
 * Inline triples and entity highlights for record files. Only the lines in (and near) the
 * visible ranges are decorated; a scroll re-decorates after a short debounce, an edit at once.
 * The hover shows a record's triples with score, model, adapters, retrieved examples and a link
 * to the prompt that produced them.
 */
import * as vscode from 'vscode';
import { TripleStatus, evidenceQuotes } from '../core/curation';
import { lineDecorations } from '../core/editor/lineDecorations';
import { isRecordDocument, lineCache, recordAt } from './records';

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

export class DecorationController implements vscode.Disposable {
  private readonly tripleTypes = new Map<TripleStatus, vscode.TextEditorDecorationType>();
  private readonly entityTypes: vscode.TextEditorDecorationType[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private enabled: boolean;
  /** Milliseconds of the last update (for the status line and the benchmark's cross-check). */
  lastUpdateMs = 0;

  constructor(enabled: boolean, private readonly noRelation: () => string | null | undefined) {
    this.enabled = enabled;
    for (const s of STATUSES)
      this.tripleTypes.set(
        s,
        vscode.window.createTextEditorDecorationType({
          after: { margin: '0 0 0 2em', color: new vscode.ThemeColor(STATUS_COLORS[s]), fontStyle: s === 'missing' ? 'italic' : 'normal' },
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
      );
    for (let i = 0; i < ENTITY_COLORS; i++)
      this.entityTypes.push(vscode.window.createTextEditorDecorationType({ backgroundColor: new vscode.ThemeColor(`relationLens.entity${i}Background`), borderRadius: '2px' }));
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshAll()),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.schedule(e.textEditor)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        for (const ed of vscode.window.visibleTextEditors) if (ed.document === e.document) this.update(ed);
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
          const d = lineDecorations(line.text, lineCache, this.noRelation());
          if (!d) continue;
          const end = line.range.end;
          for (const s of STATUSES) {
            const text = d.triples.filter((t) => t.status === s).map((t) => t.text);
            if (text.length) triples.get(s)!.push({ range: new vscode.Range(end, end), renderOptions: { after: { contentText: text.join('   ') } } });
          }
          for (const m of d.mentions) entities[m.entity % ENTITY_COLORS]!.push(new vscode.Range(i, m.start, i, m.end));
        }
      }
    }
    for (const s of STATUSES) editor.setDecorations(this.tripleTypes.get(s)!, triples.get(s)!);
    this.entityTypes.forEach((t, i) => editor.setDecorations(t, entities[i]!));
    this.lastUpdateMs = performance.now() - t0;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    for (const t of this.tripleTypes.values()) t.dispose();
    for (const t of this.entityTypes) t.dispose();
  }
}

export class RecordHoverProvider implements vscode.HoverProvider {
  constructor(private readonly noRelation: () => string | null | undefined) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const record = recordAt(doc, pos.line);
    if (!record) return undefined;
    const d = lineDecorations(doc.lineAt(pos.line).text, lineCache, this.noRelation());
    if (!d || !d.triples.length) return undefined;
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['relationLens.showPrompt', 'relationLens.acceptRelation', 'relationLens.rejectRelation'] };
    md.supportHtml = false;
    md.appendMarkdown(`**Relation Lens** — record \`${record.id}\`\n\n`);
    for (const t of d.triples) {
      const rel = t.relation >= 0 ? record.relations[t.relation] : undefined;
      const meta = (rel?.meta ?? {}) as Record<string, unknown>;
      md.appendMarkdown(`- $(${t.status === 'agree' ? 'pass' : t.status === 'extra' ? 'error' : t.status === 'wrong-label' ? 'warning' : t.status === 'missing' ? 'circle-slash' : 'symbol-event'}) `);
      md.appendText(t.text);
      md.appendMarkdown(` — _${t.status}${rel?.source ? `, ${rel.source}` : ''}${rel?.status ? `, ${rel.status}` : ''}_`);
      if (typeof meta['model'] === 'string') md.appendMarkdown(`  \n  model: \`${String(meta['model'])}\``);
      if (Array.isArray(meta['adapters']) && meta['adapters'].length) md.appendMarkdown(`  \n  adapters: \`${JSON.stringify(meta['adapters'])}\``);
      if (Array.isArray(meta['top'])) md.appendMarkdown(`  \n  top: ${(meta['top'] as Array<[string, number]>).map(([l, p]) => `${l} ${p.toFixed(3)}`).join(', ')}`);
      if (Array.isArray(meta['neighbours'])) md.appendMarkdown(`  \n  retrieved examples: ${(meta['neighbours'] as string[]).map((n) => `\`${n}\``).join(', ')}`);
      if (rel?.evidence?.length) {
        md.appendMarkdown('  \n  evidence: ');
        md.appendText(evidenceQuotes(record, rel).join(' · ') || rel.evidence.join(', '));
      }
      if (rel?.source === 'model') {
        const args = encodeURIComponent(JSON.stringify([{ uri: doc.uri.toString(), line: pos.line, relation: t.relation }]));
        md.appendMarkdown(`  \n  [Show prompt](command:relationLens.showPrompt?${args}) · [Accept](command:relationLens.acceptRelation?${args}) · [Reject](command:relationLens.rejectRelation?${args})`);
      }
      md.appendMarkdown('\n');
    }
    return new vscode.Hover(md);
  }
}
