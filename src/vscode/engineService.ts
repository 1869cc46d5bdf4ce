/**
 * The one owner of the engine process in the extension: starts it on first use (activation stays
 * light), shows a crash with a restart button, and keeps the status bar (model, adapters,
 * backend, tokens/s of the last run) up to date.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_MODEL_ID } from '../core/models/catalog';
import { EngineClient, EngineCrashedError } from '../node/engineClient';
import { EngineSettings, ExtractResult } from '../protocol/engine';
import { Settings, resolvePath } from './config';
import { Disposable } from './lifecycle';

export class EngineService extends Disposable {
  readonly client: EngineClient;
  private readonly status: vscode.StatusBarItem;
  private last: ExtractResult['engine'] | undefined;
  private tokensPerSecond: number | undefined;

  constructor(
    context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly settings: () => Settings,
  ) {
    super();
    this.client = new EngineClient({
      hostPath: context.asAbsolutePath(path.join('dist', 'engineHost.js')),
      log: (level, message) => (level === 'error' ? log.error(message) : level === 'warn' ? log.warn(message) : log.info(message)),
      onCrash: (err) => void this.onCrash(err),
    });
    this.status = this._register(vscode.window.createStatusBarItem('relationLens.status', vscode.StatusBarAlignment.Right, 100));
    this.status.name = 'Relation Lens';
    this.status.command = 'relationLens.selectModel';
    this.render();
    this.status.show();
  }

  engineSettings(doc?: vscode.Uri): EngineSettings {
    const s = this.settings();
    const model = resolvePath(s.model, doc) || DEFAULT_MODEL_ID;
    return {
      model,
      loras: s.loras.map((l) => ({ path: resolvePath(l.path, doc), scale: l.scale })),
      ...(s.threads > 0 ? { threads: s.threads } : {}),
      parallel: s.parallel,
      contextSize: s.contextSize,
    };
  }

  finished(r: ExtractResult): void {
    this.last = r.engine;
    this.tokensPerSecond = r.tokensPerSecond;
    this.render();
  }

  render(): void {
    const s = this.settings();
    const model = this.last?.model ?? (s.model || `${DEFAULT_MODEL_ID} (default)`);
    const short = path.basename(model).replace(/\.gguf$/i, '');
    const adapters = s.loras.length ? ` + ${s.loras.length} LoRA` : '';
    const backend = this.last ? ` · ${this.last.backend}` : '';
    const tps = this.tokensPerSecond ? ` · ${this.tokensPerSecond.toFixed(0)} tok/s` : '';
    this.status.text = `$(symbol-event) ${short}${adapters}${backend}${tps}`;
    this.status.tooltip = new vscode.MarkdownString(
      [`**Relation Lens**`, `model: \`${model}\``, s.loras.length ? `LoRA: ${s.loras.map((l) => `\`${l.path}\` × ${l.scale}`).join(', ')}` : 'no LoRA adapter', this.last ? `backend: ${this.last.backend}, ${this.last.threads} thread(s)` : 'engine not started', this.tokensPerSecond ? `last run: ${this.tokensPerSecond.toFixed(1)} tokens/s` : '', 'Click to select a model.']
        .filter(Boolean)
        .join('\n\n'),
    );
  }

  private async onCrash(err: EngineCrashedError): Promise<void> {
    this.last = undefined;
    this.render();
    const pick = await vscode.window.showErrorMessage(`Relation Lens: ${err.message}. VS Code and the other extensions were not affected.`, 'Restart Engine', 'Show Log');
    if (pick === 'Restart Engine') await this.restart();
    else if (pick === 'Show Log') this.log.show();
  }

  async restart(): Promise<void> {
    await this.client.restart();
    this.log.info(`engine restarted (pid ${this.client.pid})`);
  }

  override dispose(): void {
    void this.client.stop();
    super.dispose();
  }
}
