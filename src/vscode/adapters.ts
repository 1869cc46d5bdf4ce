/**
 * The adapters a workspace knows: those in relationLens.loras and those trained or added here
 * (remembered in the workspace state), each with what its manifest says — for the panel's
 * adapter list and its A/B comparison.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readAdapterManifest } from '../node/adapters';
import { AdapterView } from '../protocol/webview';
import { readSettings, resolvePath } from './config';

const KEY = 'relationLens.knownAdapters';
const MAX = 30;

export class KnownAdapters {
  constructor(private readonly state: vscode.Memento) {}

  /** Remembers an adapter (most recent first). */
  async add(file: string): Promise<void> {
    const rest = this.state.get<string[]>(KEY, []).filter((f) => f !== file);
    await this.state.update(KEY, [file, ...rest].slice(0, MAX));
  }

  /** The adapters in use, then the remembered ones that still exist (absolute paths, no repeats). */
  paths(): string[] {
    const inUse = readSettings().loras.map((l) => resolvePath(l.path));
    const known = this.state.get<string[]>(KEY, []).filter((f) => existsSync(f));
    return [...new Set([...inUse, ...known])];
  }

  async views(): Promise<AdapterView[]> {
    const scales = new Map(readSettings().loras.map((l) => [resolvePath(l.path), l.scale]));
    return Promise.all(this.paths().map((p) => adapterView(p, scales.get(p) ?? null)));
  }
}

async function adapterView(file: string, scale: number | null): Promise<AdapterView> {
  try {
    const m = await readAdapterManifest(file);
    if (!m) return { path: file, scale, manifest: null };
    return {
      path: file,
      scale,
      manifest: {
        base: path.basename(m.base.path),
        trainedOn: path.basename(m.data.file),
        examples: m.data.examples,
        relationSet: m.relationSet.name,
        answers: m.answers,
        created: m.created,
        stopped: m.training.stopped,
        devAccuracy: m.dev?.accuracy ?? null,
        devExamples: m.dev?.examples ?? 0,
        heldOut: m.dev?.heldOut?.length ?? 0,
      },
    };
  } catch (e) {
    return { path: file, scale, manifest: null, problem: (e as Error).message };
  }
}
