/**
 * Sidebar views: the relations of the open record files (document → label with counts →
 * relation; click reveals the line), filterable by label, source and status; and the run
 * history with metrics.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { tripleText } from '../core/editor/lineDecorations';
import { Relation } from '../core/schema';
import { isRecordDocument, recordLines } from './records';
import { RunHistory } from './runs';
import { Disposable } from './lifecycle';

export interface RelationFilter {
  label?: string;
  source?: Relation['source'];
  status?: 'pending' | 'accepted' | 'rejected' | 'ignored';
}

type Node =
  | { kind: 'doc'; uri: vscode.Uri }
  | { kind: 'label'; uri: vscode.Uri; label: string; count: number }
  | { kind: 'rel'; uri: vscode.Uri; line: number; text: string; rel: Relation };

const statusOf = (r: Relation) => r.status ?? (r.source === 'model' ? 'pending' : undefined);

export class RelationsTree extends Disposable implements vscode.TreeDataProvider<Node> {
  private readonly changed = this._register(new vscode.EventEmitter<Node | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  filter: RelationFilter = {};
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    super();
    const later = () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.changed.fire(undefined), 300);
    };
    for (const event of [
      vscode.workspace.onDidChangeTextDocument,
      vscode.workspace.onDidOpenTextDocument,
      vscode.workspace.onDidCloseTextDocument,
    ])
      this._register(event(later));
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  private matches(r: Relation): boolean {
    const f = this.filter;
    return (
      (!f.label || r.label === f.label) &&
      (!f.source || r.source === f.source) &&
      (!f.status || statusOf(r) === f.status)
    );
  }

  private relations(uri: vscode.Uri): Array<{ line: number; text: string; rel: Relation }> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (!doc) return [];
    const out: Array<{ line: number; text: string; rel: Relation }> = [];
    for (const { line, record } of recordLines(doc))
      for (const rel of record.relations)
        if (this.matches(rel))
          out.push({
            line,
            rel,
            text: tripleText(record, {
              head: rel.head,
              tail: rel.tail,
              label: rel.label,
              relation: 0,
              status: 'prediction',
              score: rel.score,
            }),
          });
    return out;
  }

  getChildren(node?: Node): Node[] {
    if (!node)
      return vscode.workspace.textDocuments
        .filter((d) => isRecordDocument(d) && !d.isClosed && d.uri.scheme !== 'git')
        .map((d) => ({ kind: 'doc', uri: d.uri }));
    if (node.kind === 'doc') {
      const counts = new Map<string, number>();
      for (const r of this.relations(node.uri))
        counts.set(r.rel.label, (counts.get(r.rel.label) ?? 0) + 1);
      return [...counts.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([label, count]) => ({ kind: 'label', uri: node.uri, label, count }));
    }
    if (node.kind === 'label')
      return this.relations(node.uri)
        .filter((r) => r.rel.label === node.label)
        .slice(0, 500)
        .map((r) => ({ kind: 'rel', uri: node.uri, ...r }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'doc') {
      const item = new vscode.TreeItem(
        path.basename(node.uri.path),
        vscode.TreeItemCollapsibleState.Expanded,
      );
      item.resourceUri = node.uri;
      item.description = vscode.workspace.asRelativePath(node.uri, false);
      item.contextValue = 'document';
      return item;
    }
    if (node.kind === 'label') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
      item.description = String(node.count);
      item.iconPath = new vscode.ThemeIcon('symbol-enum-member');
      return item;
    }
    const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    const st = statusOf(node.rel);
    item.description = [node.rel.source, st].filter(Boolean).join(', ');
    item.iconPath = new vscode.ThemeIcon(
      st === 'accepted'
        ? 'pass'
        : st === 'rejected'
          ? 'circle-slash'
          : st === 'ignored'
            ? 'debug-step-over'
            : node.rel.source === 'gold'
              ? 'star-full'
              : 'circle-outline',
    );
    item.command = {
      command: 'relationLens.revealLine',
      title: 'Reveal',
      arguments: [node.uri, node.line],
    };
    item.tooltip = `line ${node.line + 1}`;
    return item;
  }

  override dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    super.dispose();
  }
}

export class RunsTree implements vscode.TreeDataProvider<number> {
  readonly onDidChangeTreeData: vscode.Event<void>;
  constructor(private readonly runs: RunHistory) {
    this.onDidChangeTreeData = runs.onDidChange;
  }
  getChildren(i?: number): number[] {
    return i === undefined ? this.runs.entries.map((_, k) => k) : [];
  }
  getTreeItem(i: number): vscode.TreeItem {
    const r = this.runs.entries[i]!;
    const item = new vscode.TreeItem(
      `${path.basename(r.file)} — ${r.metrics ? `${r.metrics.metric} F1 ${(100 * r.metrics.f1).toFixed(2)}` : `${r.records} record(s), ${r.kind}`}`,
    );
    item.description = new Date(r.at).toLocaleString();
    item.iconPath = new vscode.ThemeIcon(r.metrics ? 'graph' : 'run');
    item.tooltip = new vscode.MarkdownString(
      [
        `**${r.file}**`,
        r.model && `model: \`${r.model}\` (${r.backend})`,
        r.adapters && `LoRA: ${r.adapters}`,
        r.tokensPerSecond
          ? `${r.tokensPerSecond.toFixed(1)} tokens/s, ${(r.elapsedMs / 1000).toFixed(1)} s`
          : '',
        r.metrics
          ? `P ${(100 * r.metrics.precision).toFixed(2)} R ${(100 * r.metrics.recall).toFixed(2)} F1 ${(100 * r.metrics.f1).toFixed(2)}`
          : '',
        `relation set: ${r.relationSet}`,
        r.errors ? `${r.errors} problem(s)` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    return item;
  }
}

export async function pickFilter(tree: RelationsTree): Promise<void> {
  const labels = new Set<string>();
  for (const d of vscode.workspace.textDocuments)
    if (isRecordDocument(d))
      for (const { record } of recordLines(d))
        for (const r of record.relations) labels.add(r.label);
  const items: Array<vscode.QuickPickItem & { f: RelationFilter }> = [
    { label: 'All relations', f: {} },
    { label: 'Undecided predictions', f: { source: 'model', status: 'pending' } },
    { label: 'Accepted', f: { status: 'accepted' } },
    { label: 'Rejected', f: { status: 'rejected' } },
    { label: 'Ignored (set aside)', f: { status: 'ignored' } },
    { label: 'Gold', f: { source: 'gold' } },
    { label: 'Human', f: { source: 'human' } },
    ...[...labels].sort().map((l) => ({ label: `Label: ${l}`, f: { label: l } })),
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: 'Relation Lens: filter the relations view',
  });
  if (!pick) return;
  tree.filter = pick.f;
  tree.refresh();
}
