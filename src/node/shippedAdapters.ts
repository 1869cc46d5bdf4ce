/**
 * The adapters the project trained and ships in models/ (ADAPTER.gguf + ADAPTER.manifest.json),
 * and the rule that applies one by default: no LoRA adapter set by the user, the default adapter
 * not turned off (`--no-default-adapter`, `relationLens.defaultAdapter`), and the run is exactly
 * what the adapter was trained for — the same base model (sha256), relation set (labels in order
 * and no-relation label), template, answer form, level, and no retrieved demonstrations unless it
 * was trained with them. Anything else gets the base model alone, as before.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RelationSet } from '../core/schema';
import { AdapterManifest } from './adapterManifest';
import { isTrainedBase, readAdapterManifest, sameRelationSet } from './adapters';
import { shippedModelsDir } from './jobs';

export interface ShippedAdapter {
  path: string;
  manifest: AdapterManifest;
}

/** The shipped folder's adapters, read once per process (they are part of the installation). */
const listings = new Map<string, Promise<ShippedAdapter[]>>();

/** The adapters in a models folder (default: the shipped one), those with a manifest. */
export function listShippedAdapters(dir = shippedModelsDir()): Promise<ShippedAdapter[]> {
  if (!dir) return Promise.resolve([]);
  let l = listings.get(dir);
  if (!l) {
    l = readAdapters(dir);
    l.catch(() => listings.delete(dir));
    listings.set(dir, l);
  }
  return l;
}

async function readAdapters(dir: string): Promise<ShippedAdapter[]> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) =>
    /\.gguf$/i.test(n),
  );
  const out: ShippedAdapter[] = [];
  for (const n of names.sort()) {
    const file = path.join(dir, n);
    const manifest = await readAdapterManifest(file);
    if (manifest) out.push({ path: file, manifest });
  }
  return out;
}

export interface DefaultAdapterRun {
  modelPath: string;
  relationSet: RelationSet;
  template: { name: string };
  answers: 'names' | 'codes';
  level: 'sentence' | 'document';
  /** Retrieved demonstrations in the prompt (RAG). */
  rag: boolean;
}

/** Why a shipped adapter does not fit a run (undefined: it fits). */
export function adapterMismatch(
  m: AdapterManifest,
  run: Omit<DefaultAdapterRun, 'modelPath'>,
): string | undefined {
  if (!sameRelationSet(m.relationSet, run.relationSet))
    return `trained for the relation set ${m.relationSet.name}`;
  if ((m.document ? 'document' : 'sentence') !== run.level)
    return `trained at ${m.document ? 'document' : 'sentence'} level`;
  if (m.template.name !== run.template.name) return `trained with the template ${m.template.name}`;
  if (m.answers !== run.answers) return `trained to answer with ${m.answers}`;
  if (!!m.rag !== run.rag)
    return m.rag
      ? 'trained with retrieved demonstrations'
      : 'trained without retrieved demonstrations';
  return undefined;
}

/**
 * The shipped adapter for this run, if one was trained for exactly it (the first in name order
 * when several are); the base model is compared last (its sha256 is computed once per file).
 */
export async function defaultAdapterFor(
  run: DefaultAdapterRun,
  dir = shippedModelsDir(),
): Promise<ShippedAdapter | undefined> {
  for (const a of await listShippedAdapters(dir))
    if (!adapterMismatch(a.manifest, run) && (await isTrainedBase(a.manifest, run.modelPath)).same)
      return a;
  return undefined;
}

/** "semeval-smollm2.gguf (shipped adapter for semeval2010-task8, trained on 1,600 examples)", for logs and the status bar. */
export function describeShipped(a: ShippedAdapter): string {
  return `${path.basename(a.path)} (shipped adapter for ${a.manifest.relationSet.name}, trained on ${a.manifest.data.examples.toLocaleString('en-US')} examples)`;
}
