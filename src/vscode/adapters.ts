/**
 * The adapters a workspace knows: those in relationLens.loras and those trained or added here
 * (remembered in the workspace state), each with what its manifest says — for the panel's
 * adapter list and its A/B comparison.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { adapterManifestPath, readAdapterManifest } from '../node/adapters';
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

  /** Manifest views by adapter path, kept while the manifest file is unchanged (size, mtime). */
  private readonly cache = new Map<string, { stamp: string; view: Promise<ManifestView> }>();

  async views(): Promise<AdapterView[]> {
    const scales = new Map(readSettings().loras.map((l) => [resolvePath(l.path), l.scale]));
    return Promise.all(
      this.paths().map(async (p) => ({
        path: p,
        scale: scales.get(p) ?? null,
        ...(await this.manifestView(p)),
      })),
    );
  }

  private async manifestView(file: string): Promise<ManifestView> {
    const st = await fs.stat(adapterManifestPath(file)).catch(() => undefined);
    const stamp = st ? `${st.size}:${st.mtimeMs}` : 'none';
    const hit = this.cache.get(file);
    if (hit?.stamp === stamp) return hit.view;
    const view = readManifestView(file);
    this.cache.set(file, { stamp, view });
    return view;
  }
}

type ManifestView = Pick<AdapterView, 'manifest' | 'problem'>;

async function readManifestView(file: string): Promise<ManifestView> {
  try {
    const m = await readAdapterManifest(file);
    if (!m) return { manifest: null };
    return {
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
    return { manifest: null, problem: (e as Error).message };
  }
}
