/**
 * Typed settings. The extraction options (mode, answers, template, k, threads, parallel, context
 * size, document k/filter/template) are declared in core/options.ts with the CLI's flags. Paths and
 * server settings from the workspace (./trust.ts: PATH_SETTINGS) are only honoured in a trusted
 * workspace: in restricted mode the user-level values apply (package.json lists them under
 * `restrictedConfigurations` too).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { osUserName } from '../node/annotator';
import { OPTIONS, OptionDecl, OptionName, OptionValue, checkOptionValue } from '../core/options';
import { ServerFlavor } from '../core/ports';
import { PATH_SETTINGS } from './trust';

export const SECTION = 'relationLens';

export interface Settings {
  backend: 'local' | 'server';
  server: { endpoint: string; model: string; flavor: ServerFlavor | '' };
  model: string;
  loras: Array<{ path: string; scale: number }>;
  relationSet: string;
  template: string;
  mode: OptionValue<'mode'>;
  answers: OptionValue<'answers'>;
  method: 'auto' | 'sentence' | 'document';
  ragIndex: string;
  k: number;
  /** 0: the machine's math cores. */
  threads: number;
  parallel: number;
  /** One sequence (the same labels and scores on every run). */
  deterministic: boolean;
  defaultAdapter: boolean;
  contextSize: number;
  documentK: number;
  documentMode: 'llm' | 'encoder';
  documentFilter: string;
  documentTemplate: string;
  decorations: boolean;
  validateOnOpen: boolean;
  /** Who curates (relationLens.annotator, else the OS user name; '' when neither is known). */
  annotator: string;
}

/**
 * A setting declared in core/options.ts: its key and default come from the declaration, and a
 * value of the wrong type (hand-edited settings.json) falls back to the default.
 */
function option<N extends OptionName>(cfg: vscode.WorkspaceConfiguration, name: N): OptionValue<N> {
  const d: OptionDecl = OPTIONS[name];
  const fallback = (d.settingDefault ?? d.default ?? d.settingUnset) as OptionValue<N>;
  const v = get<unknown>(cfg, d.setting!, fallback);
  if (d.settingUnset !== undefined && v === d.settingUnset) return v as OptionValue<N>;
  const r = checkOptionValue(name, v);
  return r.ok ? (r.value as OptionValue<N>) : fallback;
}

function get<T>(cfg: vscode.WorkspaceConfiguration, key: string, fallback: T): T {
  if (!vscode.workspace.isTrusted && (PATH_SETTINGS as readonly string[]).includes(key)) {
    const i = cfg.inspect<T>(key);
    return i?.globalValue ?? i?.defaultValue ?? fallback;
  }
  return cfg.get<T>(key, fallback);
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return {
    backend: get(c, 'backend', 'local'),
    server: {
      endpoint: get(c, 'server.endpoint', ''),
      model: get(c, 'server.model', ''),
      flavor: get(c, 'server.flavor', ''),
    },
    model: get(c, 'model', ''),
    loras: get(c, 'loras', [] as Array<{ path: string; scale: number }>),
    relationSet: get(c, 'relationSet', ''),
    template: option(c, 'template'),
    mode: option(c, 'mode'),
    answers: option(c, 'answers'),
    method: get(c, 'method', 'auto'),
    ragIndex: get(c, 'ragIndex', ''),
    k: option(c, 'k'),
    threads: option(c, 'threads') ?? 0,
    parallel: option(c, 'parallel'),
    deterministic: option(c, 'deterministic'),
    defaultAdapter: option(c, 'defaultAdapter'),
    contextSize: option(c, 'contextSize'),
    documentK: option(c, 'documentK'),
    documentMode: option(c, 'documentMode'),
    documentFilter: option(c, 'documentFilter'),
    documentTemplate: option(c, 'documentTemplate'),
    decorations: get(c, 'decorations.enabled', true),
    validateOnOpen: get(c, 'validateOnOpen', true),
    annotator: get(c, 'annotator', '').trim() || osUserName(),
  };
}

/** A path from a setting: `~` and workspace-relative paths resolved; '' stays ''. */
export function resolvePath(p: string, doc?: vscode.Uri): string {
  if (!p) return p;
  if (p.startsWith('~/')) return path.join(process.env['HOME'] ?? '', p.slice(2));
  if (path.isAbsolute(p) || /^(hf:|https?:)/.test(p)) return p;
  const folder =
    (doc && vscode.workspace.getWorkspaceFolder(doc)) ?? vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, p) : p;
}

/** Writes a setting; refused in restricted mode (nothing is written to settings there). */
export async function update(
  key: string,
  value: unknown,
  target = vscode.ConfigurationTarget.Workspace,
): Promise<void> {
  if (!vscode.workspace.isTrusted)
    throw new Error(
      `restricted mode: Relation Lens does not change settings (relationLens.${key}); trust the workspace first`,
    );
  const t = vscode.workspace.workspaceFolders?.length ? target : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration(SECTION).update(key, value, t);
}
