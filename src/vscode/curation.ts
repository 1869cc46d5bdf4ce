/**
 * Curation in the editor: accept / reject / edit a predicted relation (keystroke, CodeLens,
 * hover link or command palette), accept or reject a whole record, and a review queue that walks
 * through undecided predictions, least confident first. Every decision is one WorkspaceEdit of
 * the record's line (undo works; other lines are untouched).
 */
import * as vscode from 'vscode';
import { CurationAction, curate, isPending, reviewQueue } from '../core/curation';
import { labelDetail, labelInfo, labelNamer, storedLabel } from '../core/editor/labels';
import { tripleText } from '../core/editor/lineDecorations';
import { RelRecord } from '../core/schema';
import { isRecordDocument, recordAt, recordLines, replaceRecords } from './records';
import { relationSetOf } from './extract';
import { Disposable } from './lifecycle';
import { readSettings } from './config';

/** Arguments of the curation commands (from CodeLens, hover links or tests). */
export interface RelationRef {
  uri?: string;
  line?: number;
  relation?: number;
}

function target(
  ref?: RelationRef,
): { doc: vscode.TextDocument; line: number; record: RelRecord; relation: number } | string {
  const editor = vscode.window.activeTextEditor;
  const doc = ref?.uri
    ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === ref.uri)
    : editor?.document;
  if (!doc || !isRecordDocument(doc)) return 'open a JSONL file of records first';
  const line = ref?.line ?? editor?.selection.active.line ?? 0;
  const record = recordAt(doc, line);
  if (!record) return `line ${line + 1} is not a valid record`;
  const relation = ref?.relation ?? record.relations.findIndex(isPending);
  if (relation < 0 || !record.relations[relation])
    return `record ${record.id} has no undecided prediction`;
  return { doc, line, record, relation };
}

async function apply(
  ref: RelationRef | undefined,
  action: (r: RelRecord, i: number) => Promise<CurationAction | undefined>,
): Promise<boolean> {
  const t = target(ref);
  if (typeof t === 'string') {
    void vscode.window.showWarningMessage(`Relation Lens: ${t}.`);
    return false;
  }
  const a = await action(t.record, t.relation);
  if (!a) return false;
  const text = t.doc.lineAt(t.line).text;
  const r = await replaceRecords(t.doc, [
    {
      line: t.line,
      expected: text,
      record: curate(t.record, t.relation, a, readSettings().annotator),
    },
  ]);
  return r.applied === 1;
}

export async function editLabel(
  record: RelRecord,
  i: number,
  doc?: vscode.TextDocument,
): Promise<CurationAction | undefined> {
  const rs = doc ? await relationSetOf(doc) : undefined;
  const nameOf = labelNamer(rs);
  // Names in the pick; the record gets the label in the form it stores (ids stay ids).
  const store = storedLabel(rs, record);
  const labels = rs
    ? [...rs.labels.map((l) => l.name), ...(rs.noRelation ? [rs.noRelation] : [])]
    : [...new Set(record.relations.map((r) => nameOf(r.label)))];
  const current = record.relations[i]!;
  const pick = await vscode.window.showQuickPick(
    labels.map((l) => {
      const detail = labelDetail(labelInfo(rs, l));
      return {
        label: l,
        description: l === nameOf(current.label) ? 'predicted' : undefined,
        ...(detail ? { detail } : {}),
        stored: store(l),
      };
    }),
    {
      title: `Relation Lens: label for ${tripleText(record, { head: current.head, tail: current.tail, label: '…', relation: i, status: 'prediction' })}`,
    },
  );
  return pick ? { kind: 'edit', label: pick.stored } : undefined;
}

export function registerCuration(context: vscode.ExtensionContext): void {
  const lenses = new CurationLensProvider();
  context.subscriptions.push(
    lenses,
    vscode.languages.registerCodeLensProvider({ language: 'jsonl' }, lenses),
    vscode.commands.registerCommand('relationLens.acceptRelation', (ref?: RelationRef) =>
      apply(ref, async () => ({ kind: 'accept' })),
    ),
    vscode.commands.registerCommand('relationLens.rejectRelation', (ref?: RelationRef) =>
      apply(ref, async () => ({ kind: 'reject' })),
    ),
    vscode.commands.registerCommand('relationLens.ignoreRelation', (ref?: RelationRef) =>
      apply(ref, async () => ({ kind: 'ignore' })),
    ),
    vscode.commands.registerCommand(
      'relationLens.editRelation',
      (ref?: RelationRef & { label?: string }) =>
        apply(ref, async (r, i) =>
          ref?.label
            ? { kind: 'edit', label: ref.label }
            : editLabel(r, i, vscode.window.activeTextEditor?.document),
        ),
    ),
    vscode.commands.registerCommand('relationLens.acceptAllInRecord', (ref?: RelationRef) =>
      decideAll(ref, 'accept'),
    ),
    vscode.commands.registerCommand('relationLens.rejectAllInRecord', (ref?: RelationRef) =>
      decideAll(ref, 'reject'),
    ),
    vscode.commands.registerCommand('relationLens.reviewNext', () => reviewNext()),
  );
}

async function decideAll(ref: RelationRef | undefined, kind: 'accept' | 'reject'): Promise<void> {
  const t = target(ref);
  if (typeof t === 'string') return void vscode.window.showWarningMessage(`Relation Lens: ${t}.`);
  let rec = t.record;
  const annotator = readSettings().annotator;
  rec.relations.forEach((r, i) => {
    if (isPending(r)) rec = curate(rec, i, { kind }, annotator);
  });
  await replaceRecords(t.doc, [{ line: t.line, expected: t.doc.lineAt(t.line).text, record: rec }]);
}

/** Opens the least confident undecided prediction and asks for a decision; repeats until Escape. */
async function reviewNext(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !isRecordDocument(editor.document))
    return void vscode.window.showWarningMessage(
      'Relation Lens: open a JSONL file of records first.',
    );
  const doc = editor.document;
  for (;;) {
    const queue = reviewQueue(recordLines(doc));
    const next = queue[0];
    if (!next)
      return void vscode.window.showInformationMessage(
        'Relation Lens: no undecided predictions left in this file.',
      );
    const pos = new vscode.Position(next.line, 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(
      new vscode.Range(pos, pos),
      vscode.TextEditorRevealType.InCenterIfOutsideViewport,
    );
    const record = recordAt(doc, next.line)!;
    const rel = record.relations[next.relation]!;
    const text = tripleText(record, {
      head: rel.head,
      tail: rel.tail,
      label: rel.label,
      relation: next.relation,
      status: 'prediction',
      score: rel.score,
    });
    const pick = await vscode.window.showQuickPick(
      [
        { label: '$(check) Accept', action: 'accept' as const },
        { label: '$(close) Reject', action: 'reject' as const },
        { label: '$(edit) Edit label…', action: 'edit' as const },
      ],
      {
        title: `Review ${queue.length} undecided: ${text}`,
        placeHolder: record.text.slice(0, 200),
      },
    );
    if (!pick) return;
    const ref = { uri: doc.uri.toString(), line: next.line, relation: next.relation };
    const ok = await apply(ref, async (r, i) =>
      pick.action === 'edit' ? editLabel(r, i, doc) : { kind: pick.action },
    );
    if (!ok) return;
  }
}

/** CodeLens above records with undecided predictions, only near what is visible (50k-line files stay fast). */
class CurationLensProvider extends Disposable implements vscode.CodeLensProvider {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.changed.event;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    // Lenses follow the visible ranges once scrolling settles, not on every scroll event.
    this._register(
      vscode.window.onDidChangeTextEditorVisibleRanges(() => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.changed.fire(), 150);
      }),
    );
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
    const ranges = editor?.visibleRanges ?? [
      new vscode.Range(0, 0, Math.min(doc.lineCount - 1, 200), 0),
    ];
    const out: vscode.CodeLens[] = [];
    const seen = new Set<number>();
    for (const vr of ranges)
      for (const { line, record } of recordLines(
        doc,
        Math.max(0, vr.start.line - 20),
        vr.end.line + 20,
      )) {
        if (seen.has(line)) continue;
        seen.add(line);
        const range = new vscode.Range(line, 0, line, 0);
        const pending = record.relations
          .map((r, i) => [r, i] as const)
          .filter(([r]) => isPending(r));
        for (const [r, i] of pending.slice(0, 4)) {
          const ref: RelationRef = { uri: doc.uri.toString(), line, relation: i };
          const text = tripleText(record, {
            head: r.head,
            tail: r.tail,
            label: r.label,
            relation: i,
            status: 'prediction',
            score: r.score,
          });
          out.push(
            new vscode.CodeLens(range, {
              title: `$(check) Accept ${text}`,
              command: 'relationLens.acceptRelation',
              arguments: [ref],
            }),
          );
          out.push(
            new vscode.CodeLens(range, {
              title: '$(close) Reject',
              command: 'relationLens.rejectRelation',
              arguments: [ref],
            }),
          );
          out.push(
            new vscode.CodeLens(range, {
              title: '$(edit) Edit',
              command: 'relationLens.editRelation',
              arguments: [ref],
            }),
          );
        }
        if (pending.length > 1)
          out.push(
            new vscode.CodeLens(range, {
              title: `Accept all ${pending.length}`,
              command: 'relationLens.acceptAllInRecord',
              arguments: [{ uri: doc.uri.toString(), line }],
            }),
          );
      }
    return out;
  }

  override dispose(): void {
    clearTimeout(this.timer);
    super.dispose();
  }
}
