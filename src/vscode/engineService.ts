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

const API_KEY_SECRET = 'relationLens.server.apiKey';

export class EngineService extends Disposable {
  readonly client: EngineClient;
  private readonly status: vscode.StatusBarItem;
  private last: ExtractResult['engine'] | undefined;
  private tokensPerSecond: number | undefined;

  private readonly secrets: vscode.SecretStorage;

  constructor(
    context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly settings: () => Settings,
  ) {
    super();
    this.secrets = context.secrets;
    this._register(
      this.secrets.onDidChange((e) => e.key === API_KEY_SECRET && void this.loadApiKey()),
    );
    void this.loadApiKey();
    this.client = new EngineClient({
      hostPath: context.asAbsolutePath(path.join('dist', 'engineHost.js')),
      log: (level, message) =>
        level === 'error'
          ? log.error(message)
          : level === 'warn'
            ? log.warn(message)
            : log.info(message),
      onCrash: (err) => void this.onCrash(err),
    });
    this.status = this._register(
      vscode.window.createStatusBarItem(
        'relationLens.status',
        vscode.StatusBarAlignment.Right,
        100,
      ),
    );
    this.status.name = 'Relation Lens';
    this.status.command = 'relationLens.selectModel';
    this.render();
    this.status.show();
  }

  /** The serving engine's API key, mirrored from secret storage (settings are read synchronously). */
  private apiKey: string | undefined;

  /** The serving engine's endpoint and key (the key only travels with its endpoint); none unset. */
  serverKey(): { endpoint: string; apiKey?: string } | undefined {
    const endpoint = this.settings().server.endpoint.replace(/\/+$/, '');
    if (!endpoint) return undefined;
    return { endpoint, ...(this.apiKey ? { apiKey: this.apiKey } : {}) };
  }

  private async loadApiKey(): Promise<void> {
    this.apiKey = (await this.secrets.get(API_KEY_SECRET)) || undefined;
    this.render();
  }

  /** Asks for the serving engine's API key and keeps it in secret storage (empty: removes it). */
  async setApiKey(): Promise<void> {
    const v = await vscode.window.showInputBox({
      title: 'Relation Lens: API key for the serving engine',
      prompt: 'Kept in VS Code secret storage, never in settings. Leave empty to remove it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (v === undefined) return;
    if (v) await this.secrets.store(API_KEY_SECRET, v);
    else await this.secrets.delete(API_KEY_SECRET);
    await this.loadApiKey();
    void vscode.window.showInformationMessage(
      v ? 'Relation Lens: API key saved in secret storage.' : 'Relation Lens: API key removed.',
    );
  }

  engineSettings(doc?: vscode.Uri): EngineSettings {
    const s = this.settings();
    const model = resolvePath(s.model, doc) || DEFAULT_MODEL_ID;
    if (s.backend === 'server' && !s.server.endpoint)
      throw new Error(
        'relationLens.backend is "server" but relationLens.server.endpoint is empty (set it to the server URL, e.g. http://127.0.0.1:8080/v1)',
      );
    const server =
      s.backend === 'server'
        ? {
            endpoint: s.server.endpoint,
            ...(s.server.model ? { model: s.server.model } : {}),
            ...(s.server.flavor ? { flavor: s.server.flavor } : {}),
            ...(this.apiKey ? { apiKey: this.apiKey } : {}),
          }
        : undefined;
    return {
      ...(server ? { server } : {}),
      model,
      loras: s.loras.map((l) => ({ path: resolvePath(l.path, doc), scale: l.scale })),
      defaultAdapter: s.defaultAdapter,
      ...(s.threads > 0 ? { threads: s.threads } : {}),
      // Deterministic (the default): one sequence and a fixed thread count, so a run's labels and
      // scores never depend on its batches or on the load of the machine.
      ...(s.deterministic && s.threads <= 0 ? { threadPolicy: 'fixed' as const } : {}),
      parallel: s.deterministic ? 1 : s.parallel,
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
    if (s.backend === 'server') {
      const where = s.server.endpoint
        ? s.server.endpoint.replace(/^https?:\/\//, '').replace(/\/v1\/?$/, '')
        : 'no endpoint set';
      const tps = this.tokensPerSecond ? ` · ${this.tokensPerSecond.toFixed(0)} tok/s` : '';
      this.status.text = `$(server) ${s.server.model || 'served model'} @ ${where}${tps}`;
      this.status.tooltip = new vscode.MarkdownString(
        [
          `**Relation Lens** — serving engine`,
          `endpoint: \`${s.server.endpoint || '(relationLens.server.endpoint is empty)'}\``,
          `model: \`${s.server.model || 'the first the server lists'}\``,
          `flavor: ${s.server.flavor || 'detected'}`,
          `API key: ${this.apiKey ? 'set (secret storage)' : 'none'}`,
          this.last ? `last run: ${this.last.backend}` : '',
        ]
          .filter(Boolean)
          .join('\n\n'),
      );
      return;
    }
    const model = this.last?.model ?? (s.model || `${DEFAULT_MODEL_ID} (default)`);
    const short = path.basename(model).replace(/\.gguf$/i, '');
    // The last run's shipped default adapter (relationLens.defaultAdapter) is named: it was not set by the user.
    const shipped = !s.loras.length ? this.last?.defaultAdapter : undefined;
    const shippedName = shipped ? this.last!.adapters.map((a) => path.basename(a.path)) : [];
    const adapters = s.loras.length
      ? ` + ${s.loras.length} LoRA`
      : shippedName.length
        ? ` + ${shippedName.join(', ').replace(/\.gguf$/i, '')}`
        : '';
    const backend = this.last ? ` · ${this.last.backend}` : '';
    const tps = this.tokensPerSecond ? ` · ${this.tokensPerSecond.toFixed(0)} tok/s` : '';
    this.status.text = `$(symbol-event) ${short}${adapters}${backend}${tps}`;
    this.status.tooltip = new vscode.MarkdownString(
      [
        `**Relation Lens**`,
        `model: \`${model}\``,
        s.loras.length
          ? `LoRA: ${s.loras.map((l) => `\`${l.path}\` × ${l.scale}`).join(', ')}`
          : shipped
            ? `LoRA (default, relationLens.defaultAdapter): ${shipped}`
            : 'no LoRA adapter',
        this.last
          ? `backend: ${this.last.backend}, ${this.last.threads} thread(s)`
          : 'engine not started',
        this.tokensPerSecond ? `last run: ${this.tokensPerSecond.toFixed(1)} tokens/s` : '',
        'Click to select a model.',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
  }

  private async onCrash(err: EngineCrashedError): Promise<void> {
    this.last = undefined;
    this.render();
    const pick = await vscode.window.showErrorMessage(
      `Relation Lens: ${err.message}. VS Code and the other extensions were not affected.`,
      'Restart Engine',
      'Show Log',
    );
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
