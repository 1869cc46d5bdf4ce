/**
 * The Relation Lens panel (a webview): prompt templates with a live preview for the current
 * record, relation sets, models (catalog, local files, download with progress), LoRA adapters,
 * RAG settings, evaluation with per-relation scores and a confusion matrix, and run comparison.
 * All traffic goes through src/protocol/webview.ts; a strict CSP with a nonce; no remote content.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { webviewHtml } from './webviewHtml';
import { splitGoldAndPredictions } from '../core/curation';
import { chooseMetric, evaluateRecords } from '../core/eval';
import { agreement } from '../core/eval/agreement';
import { EvalResult } from '../core/eval/types';
import { SEMEVAL_RELATIONS } from '../core/formats/semeval';
import { pairPrompt } from '../core/pipelines/sentence';
import { PromptTemplate, formatTemplate } from '../core/prompts/template';
import { RelRecord, RelationSet, candidatePairs, validateRelationSet } from '../core/schema';
import { CATALOG } from '../core/models/catalog';
import { isInsideFolder, writeFileAtomic } from '../node/files';
import { loadRecords } from '../node/load';
import {
  AgreementView,
  Comparison,
  EvalView,
  HostMessage,
  PanelRequest,
  PanelState,
  RequestSchema,
  PANEL_RESULT_SCHEMAS,
  Results,
} from '../protocol/webview';
import { readSettings, resolvePath, update } from './config';
import { EngineService } from './engineService';
import { isRecordDocument, recordAt, recordLines } from './records';
import { relationSetFor, templateFor } from './resources';
import { RunHistory } from './runs';
import { Disposable } from './lifecycle';
import { KnownAdapters } from './adapters';
import { CompareDeps, compareOnRecords, toEvalView, variantLabel } from './compare';
import { readAdapterManifest } from '../node/adapters';
import { DEFAULT_TEMPLATE, builtinTemplateNames } from '../core/prompts/builtin';

/** A file that exists with other content is replaced only when the user says so. */
async function confirmReplace(file: string, content: string): Promise<boolean> {
  const old = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (old === undefined || old === content) return true;
  return (
    (await vscode.window.showWarningMessage(
      `Relation Lens: ${file} exists with other content. Replace it?`,
      { modal: true },
      'Replace',
    )) === 'Replace'
  );
}

export interface PanelDeps extends CompareDeps {
  context: vscode.ExtensionContext;
  adapters: KnownAdapters;
}

export class RelationLensPanel extends Disposable {
  static current: RelationLensPanel | undefined;
  private readonly panel: vscode.WebviewPanel;
  private lastEditor: vscode.TextEditor | undefined;
  /** Files the user chose in a dialog of this panel: the only paths outside the workspace it may use. */
  private readonly picked = new Set<string>();
  /** Record files this panel scored: the only ones openRecords opens. */
  private readonly evaluated = new Set<string>();

  /** The last comparison run from the panel or after training (shown in the Evaluate tab). */
  private comparison: Comparison | null = null;

  static show(deps: PanelDeps): RelationLensPanel {
    if (RelationLensPanel.current) {
      RelationLensPanel.current.panel.reveal();
      return RelationLensPanel.current;
    }
    RelationLensPanel.current = new RelationLensPanel(deps);
    return RelationLensPanel.current;
  }

  /** Opens the panel on a comparison (before/after training). */
  static showComparison(deps: PanelDeps, c: Comparison): void {
    const p = RelationLensPanel.show(deps);
    p.comparison = c;
    void p.pushState();
  }

  private readonly context: vscode.ExtensionContext;
  private readonly engine: EngineService;
  private readonly runs: RunHistory;
  private readonly log: vscode.LogOutputChannel;

  private constructor(private readonly deps: PanelDeps) {
    super();
    ({ context: this.context, engine: this.engine, runs: this.runs, log: this.log } = deps);
    const { context } = deps;
    const media = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
    this.panel = vscode.window.createWebviewPanel(
      'relationLens.panel',
      'Relation Lens',
      vscode.ViewColumn.Beside,
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [media] },
    );
    this.panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.svg');
    this.lastEditor = vscode.window.activeTextEditor;
    this.panel.webview.html = webviewHtml(this.panel.webview, media, {
      script: 'main.js',
      style: 'panel.css',
      title: 'Relation Lens',
      images: true,
    });
    for (const d of [
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((m) => void this.onMessage(m)),
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e && isRecordDocument(e.document)) {
          this.lastEditor = e;
          void this.pushState();
        }
      }),
      vscode.workspace.onDidChangeConfiguration(
        (e) => e.affectsConfiguration('relationLens') && void this.pushState(),
      ),
    ])
      this._register(d);
  }

  private post(m: HostMessage): void {
    void this.panel.webview.postMessage(m);
  }

  async pushState(): Promise<void> {
    try {
      this.post({ type: 'state', state: await this.state() });
    } catch (err) {
      this.log.warn(`panel state: ${(err as Error).message}`);
    }
  }

  private currentRecord(): { record: RelRecord; doc: vscode.TextDocument; line: number } | null {
    const e = this.lastEditor;
    if (!e || e.document.isClosed || !isRecordDocument(e.document)) {
      const doc = vscode.workspace.textDocuments.find((d) => isRecordDocument(d) && !d.isClosed);
      if (!doc) return null;
      const first = recordLines(doc).next();
      return first.done ? null : { record: first.value.record, doc, line: first.value.line };
    }
    const line = e.selection.active.line;
    const record = recordAt(e.document, line) ?? recordLines(e.document).next().value?.record;
    return record ? { record, doc: e.document, line } : null;
  }

  private async relationSet(): Promise<{ set: RelationSet; from: string } | undefined> {
    const cur = this.currentRecord();
    const uri = cur?.doc.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
    return uri
      ? relationSetFor(uri, readSettings(), cur ? [cur.record] : []).catch(() => undefined)
      : undefined;
  }

  private async state(): Promise<PanelState> {
    const s = readSettings();
    const cur = this.currentRecord();
    const rs = await this.relationSet();
    let template: PromptTemplate;
    try {
      template = await templateFor(s, cur?.doc.uri);
    } catch {
      template = DEFAULT_TEMPLATE;
    }
    return {
      template: { ...template },
      templates: builtinTemplateNames('sentence'),
      relationSet: rs
        ? {
            name: rs.set.name,
            noRelation: rs.set.noRelation,
            directed: rs.set.directed,
            labels: rs.set.labels.map((l) => ({ ...l })),
          }
        : null,
      relationSetFrom: rs?.from ?? '',
      model: s.model,
      loras: s.loras,
      adapters: await this.deps.adapters.views(),
      comparison: this.comparison,
      catalog: CATALOG.map((c) => ({
        id: c.id,
        parameters: c.parameters,
        size: c.size ?? 0,
        recommended: c.recommended,
        hardware: c.hardware,
      })),
      rag: { index: s.ragIndex, k: s.k },
      record: cur ? { id: cur.record.id, file: cur.doc.uri.fsPath, line: cur.line } : null,
      trusted: vscode.workspace.isTrusted,
    };
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = RequestSchema.safeParse(raw);
    if (!parsed.success) {
      const id =
        typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1;
      this.log.warn(`panel: invalid message ${JSON.stringify(raw).slice(0, 200)}`);
      return this.post({
        type: 'response',
        id,
        ok: false,
        error: `invalid request: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      });
    }
    const req = parsed.data;
    try {
      // Checked where it is sent too: a result the webview would refuse is the host's bug, logged here.
      const result = PANEL_RESULT_SCHEMAS[req.method].parse(await this.handle(req));
      this.post({ type: 'response', id: req.id, ok: true, result });
    } catch (err) {
      const msg = (err as Error).message;
      this.log.warn(`panel ${req.method}: ${msg}`);
      this.post({ type: 'response', id: req.id, ok: false, error: msg });
    }
  }

  /**
   * A path the webview names may be used only when the user chose it in a dialog, it is inside the
   * workspace, or it is already in the settings; a webview message alone never makes the host
   * read, fetch or store anything else.
   */
  private allowedPath(p: string, current: string[] = []): boolean {
    if (current.includes(p)) return true;
    if (/^(hf:|https?:)/i.test(p)) return false;
    const resolved = resolvePath(p);
    if (this.picked.has(resolved)) return true;
    return (vscode.workspace.workspaceFolders ?? []).some(
      (f) => f.uri.scheme === 'file' && isInsideFolder(f.uri.fsPath, resolved),
    );
  }

  private async handle(req: PanelRequest): Promise<Results[PanelRequest['method']]> {
    if (
      !vscode.workspace.isTrusted &&
      !['getState', 'renderPrompt', 'evaluate', 'compare', 'openRecords', 'agreement'].includes(
        req.method,
      )
    )
      throw new Error(
        'this workspace is in restricted mode: the panel does not change settings, save files or download models (trust the workspace to do so)',
      );
    switch (req.method) {
      case 'getState':
        return this.state();
      case 'renderPrompt':
        return this.renderPrompt(req.params.template as PromptTemplate);
      case 'saveTemplate': {
        const t = req.params.template;
        return this.saveInWorkspace({
          what: 'templates',
          file: path.join('templates', `${t.name.replace(/[^\w.-]+/g, '-')}.txt`),
          text: formatTemplate(t),
          setting: 'template',
        });
      }
      case 'saveRelationSet': {
        const v = validateRelationSet(req.params.relationSet);
        if (!v.ok) throw new Error(`invalid relation set: ${v.problems.join('; ')}`);
        return this.saveInWorkspace({
          what: 'relation sets',
          file: `${v.value.name.replace(/[^\w.-]+/g, '-')}.relations.json`,
          text: JSON.stringify(v.value, null, 2) + '\n',
          setting: 'relationSet',
        });
      }
      case 'useModel':
        return this.useModel(req.params.model, req.params.download);
      case 'pickModelFile': {
        const f = await this.pickGguf('GGUF models', 'Relation Lens: a GGUF model');
        if (!f) return null;
        await update('model', f);
        return { model: f };
      }
      case 'setLoras':
        return this.setLoras(req.params.loras);
      case 'pickLora': {
        const f = await this.pickGguf('LoRA adapters (GGUF)', 'Relation Lens: a LoRA adapter');
        if (!f) return null;
        await this.deps.adapters.add(f);
        const loras = [...readSettings().loras, { path: f, scale: 1 }];
        await update('loras', loras);
        return { loras };
      }
      case 'setRag':
        return this.setRag(req.params);
      case 'evaluate':
        return this.evaluate();
      case 'compare': {
        const a = await this.evaluate('Predictions A');
        if (!a) return null;
        const b = await this.evaluate('Predictions B', true);
        return b ? { a, b } : null;
      }
      case 'compareAdapters':
        return this.compareAdapters(req.params.a, req.params.b);
      case 'openRecords':
        return this.openRecords(req.params);
      case 'agreement':
        return this.agreement();
    }
  }

  /**
   * A/B of two adapters of the list (null: the base model) on the current record file: on the
   * records both held out of training when their manifests name them, else on every settled record.
   */
  private async compareAdapters(a: string | null, b: string | null): Promise<Comparison | null> {
    const known = this.deps.adapters.paths();
    const bad = [a, b].find((p) => p !== null && !known.includes(p));
    if (bad) throw new Error(`${JSON.stringify(bad)} is not in the panel's adapter list`);
    const doc = this.currentRecord()?.doc;
    if (!doc) throw new Error('open a record file (JSONL with curated relations) to compare on');
    const manifests = await Promise.all(
      [a, b].map((p) => (p ? readAdapterManifest(p).catch(() => undefined) : undefined)),
    );
    const held = manifests
      .filter((m) => m?.dev?.heldOut && resolvePath(m.data.file) === doc.uri.fsPath)
      .map((m) => new Set(m!.dev!.heldOut));
    const ids = held.length
      ? [...held[0]!].filter((id) => held.every((h) => h.has(id)))
      : undefined;
    const variant = (p: string | null) => ({
      label: variantLabel(p ? [{ path: p, scale: 1 }] : []),
      loras: p ? [{ path: p, scale: 1 }] : [],
    });
    const c = await compareOnRecords(this.deps, doc, {
      ids,
      variants: [variant(a), variant(b)],
      title: 'A/B of adapters',
      note: ids
        ? 'On the records held out of training.'
        : 'On every settled record (an adapter trained on this file has seen some of them).',
    });
    if (!c) return null;
    this.comparison = c;
    void this.pushState();
    return c;
  }

  /** A GGUF file the user picks; remembered as chosen (the panel may then select it). */
  private async pickGguf(filter: string, title: string): Promise<string | undefined> {
    const f = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { [filter]: ['gguf'] },
      title,
    });
    if (!f?.[0]) return undefined;
    this.picked.add(f[0].fsPath);
    return f[0].fsPath;
  }

  /** The prompt of the current record's first pair (or a built-in example) under a template being edited. */
  private async renderPrompt(template: PromptTemplate): Promise<Results['renderPrompt']> {
    const cur = this.currentRecord();
    const rs = (await this.relationSet())?.set ?? SEMEVAL_RELATIONS;
    const record: RelRecord = cur?.record ?? {
      id: 'example',
      text: 'The kitchen is the last renovated part of the house.',
      entities: [
        { id: 'e1', name: 'kitchen', mentions: [{ start: 4, end: 11 }] },
        { id: 'e2', name: 'house', mentions: [{ start: 46, end: 51 }] },
      ],
      relations: [],
      pairs: [['e1', 'e2']],
    };
    const [h, t] = candidatePairs(record)[0] ?? [record.entities[0]?.id, record.entities[1]?.id];
    const head = record.entities.find((e) => e.id === h);
    const tail = record.entities.find((e) => e.id === t);
    if (!head || !tail) throw new Error(`record ${record.id} has fewer than two entities`);
    const p = pairPrompt(record, head, tail, {
      relationSet: rs,
      template,
      answerCodes: readSettings().answers === 'codes',
    });
    return {
      ...p,
      tokensNote: `record ${record.id}${cur ? ` (line ${cur.line + 1})` : ' (built-in example)'}, pair ${head.name} → ${tail.name}; ${p.user.length} characters`,
    };
  }

  /** Saves a template or relation set under .relation-lens/ in the workspace (asking before replacing) and selects it. */
  private async saveInWorkspace(o: {
    what: string;
    file: string;
    text: string;
    setting: 'template' | 'relationSet';
  }): Promise<{ file: string } | null> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) throw new Error(`open a folder to save ${o.what} in it`);
    const file = path.join(folder, '.relation-lens', o.file);
    if (!(await confirmReplace(file, o.text))) return null;
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, o.text);
    await update(o.setting, path.relative(folder, file));
    return { file };
  }

  /** Selects a catalog model or a chosen file, and downloads it when asked (with progress and cancel). */
  private async useModel(model: string, download?: boolean): Promise<Results['useModel']> {
    const s0 = readSettings();
    if (!CATALOG.some((c) => c.id === model) && !this.allowedPath(model, [s0.model]))
      throw new Error(
        `the panel selects catalog models and files you choose with "Local GGUF file…"; ${JSON.stringify(model)} is neither (set relationLens.model in the settings to use it)`,
      );
    await update('model', model);
    if (!download) return { model: model };
    const r = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Relation Lens: getting ${model}`,
        cancellable: true,
      },
      (progress, token) => {
        const c = new AbortController();
        token.onCancellationRequested(() => c.abort());
        let last = 0;
        return this.engine.client.request(
          'resolveModel',
          { model: resolvePath(model) },
          {
            signal: c.signal,
            onProgress: (p) => {
              const pct = p.total ? (100 * p.done) / p.total : 0;
              progress.report({
                increment: pct - last,
                message: `${(p.done / 1e6).toFixed(0)} / ${(p.total / 1e6).toFixed(0)} MB`,
              });
              last = pct;
            },
          },
        );
      },
    );
    return { model: model, path: r.path };
  }

  private async setLoras(
    loras: Array<{ path: string; scale: number }>,
  ): Promise<Results['setLoras']> {
    const current = [...readSettings().loras.map((l) => l.path), ...this.deps.adapters.paths()];
    const bad = loras.find((l) => !this.allowedPath(l.path, current));
    if (bad)
      throw new Error(
        `adapter ${JSON.stringify(bad.path)} was not chosen with "Add adapter…" and is not in the workspace`,
      );
    await update('loras', loras);
    return {};
  }

  private async setRag(p: { index: string; k: number }): Promise<Results['setRag']> {
    if (p.index && !this.allowedPath(p.index, [readSettings().ragIndex]))
      throw new Error(
        `the retrieval index ${JSON.stringify(p.index)} is not inside the workspace (set relationLens.ragIndex in the settings to use it)`,
      );
    await update('ragIndex', p.index);
    await update('k', p.k);
    return {};
  }

  /** Agreement of two or more curated files the user picks (as relation-lens agreement). */
  private async agreement(): Promise<AgreementView | null> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: true,
      filters: { 'Record files': ['jsonl'] },
      title: "Relation Lens: two or more annotators' files of the same records",
    });
    if (!picked) return null;
    if (picked.length < 2)
      throw new Error('agreement compares two or more files: pick them together');
    const files = picked.map((u) => u.fsPath);
    const anns = await Promise.all(
      files.map(async (f) => ({ name: path.basename(f), records: (await loadRecords(f)).records })),
    );
    const rs = (await this.relationSet())?.set;
    const r = agreement(anns, rs?.noRelation ?? null);
    if (!r.records)
      throw new Error('no record id is in all the files: agreement compares the same records');
    this.evaluated.add(files[0]!);
    const first = r.pairwise[0]!;
    return {
      annotators: r.annotators,
      kappaKind: r.kappaKind,
      kappa: r.kappa,
      observed: r.observed,
      expected: r.expected,
      records: r.records,
      pairs: r.pairs,
      pendingPairs: r.pendingPairs,
      pairwise: r.pairwise.map(({ reference, other, precision, recall, f1 }) => ({
        reference,
        other,
        precision,
        recall,
        f1,
      })),
      perRelation: Object.entries(first.perRelation).map(([label, c]) => ({ label, ...c })),
      disagreements: r.disagreements,
      file: files[0]!,
    };
  }

  /** The record view of a file this panel scored, showing only the records behind a figure. */
  private async openRecords(p: {
    file: string;
    ids: string[];
    title: string;
  }): Promise<Results['openRecords']> {
    if (!this.evaluated.has(p.file))
      throw new Error(`${JSON.stringify(p.file)} is not a file this panel evaluated`);
    await vscode.commands.executeCommand('relationLens.openRecordView', vscode.Uri.file(p.file), {
      ids: p.ids,
      title: p.title,
    });
    return {};
  }

  /** Scores a predictions file (default: the current record file, against its own gold relations). */
  private async evaluate(title?: string, ask = false): Promise<EvalView | null> {
    let file = ask ? undefined : this.currentRecord()?.doc.uri.fsPath;
    if (!file) {
      const f = await vscode.window.showOpenDialog({
        canSelectMany: false,
        title: `Relation Lens: ${title ?? 'predictions'} (JSONL)`,
      });
      if (!f?.[0]) return null;
      file = f[0].fsPath;
    }
    const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
    const records = open
      ? [...recordLines(open)].map((l) => l.record)
      : (await loadRecords(file)).records;
    const split = splitGoldAndPredictions(records);
    let gold = split.gold;
    if (!split.hasGold) {
      const g = await vscode.window.showOpenDialog({
        canSelectMany: false,
        title: 'Relation Lens: gold file (this file has no gold relations)',
      });
      if (!g?.[0]) return null;
      gold = (await loadRecords(g[0].fsPath)).records;
    }
    const rs = (await this.relationSet())?.set;
    const result: EvalResult = evaluateRecords(gold, split.pred, rs, chooseMetric(rs, gold), file);
    this.runs.addEvaluation(file, records.length, rs?.name ?? '', result);
    this.evaluated.add(file);
    return toEvalView(`${title ? `${title}: ` : ''}${path.basename(file)}`, result, file);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    RelationLensPanel.current = undefined;
    super.dispose();
    this.panel.dispose();
  }
}
