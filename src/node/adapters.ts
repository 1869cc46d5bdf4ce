/**
 * Adapters trained here carry a manifest (ADAPTER.manifest.json, see trainLora.ts). Before one is
 * applied, its manifest is held against the run: another base model or another relation set is
 * refused with a message that says which; another template or answer form is a warning (the
 * adapter still loads, and does worse). Adapters without a manifest (made elsewhere) load as they are.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { RelationSet } from '../core/schema';
import { sha256File } from '../engine/models';
import { AdapterManifest, adapterManifestPath } from './adapterManifest';
import { textSha256 } from './provenance';

export { adapterManifestPath };

export async function readAdapterManifest(adapter: string): Promise<AdapterManifest | undefined> {
  const file = adapterManifestPath(adapter);
  if (!existsSync(file)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    throw new InputError(`the adapter's manifest is not valid JSON: ${(e as Error).message}`, file);
  }
  const m = v as Partial<AdapterManifest>;
  if (m.kind !== 'relation-lens-lora' || !m.base?.sha256 || !m.relationSet)
    throw new InputError(
      'not a Relation Lens adapter manifest (kind, base.sha256 and relationSet are required)',
      file,
    );
  return m as AdapterManifest;
}

/** The same labels in the same order and the same no-relation label: the adapter's answers mean the run's relations. */
export function sameRelationSet(trained: AdapterManifest['relationSet'], rs: RelationSet): boolean {
  const labels = rs.labels.map((l) => l.name);
  return (
    labels.length === trained.labels.length &&
    labels.every((l, i) => l === trained.labels[i]) &&
    (rs.noRelation ?? null) === trained.noRelation
  );
}

/** sha256 of model files by path, size and modification time: a base is hashed once per process. */
const digests = new Map<string, Promise<string>>();

/** Whether `modelPath` is the base a manifest names (size first; the sha256 only when the size matches). */
export async function isTrainedBase(
  m: AdapterManifest,
  modelPath: string,
): Promise<{ same: boolean; sha256?: string }> {
  const st = await fs.stat(modelPath).catch(() => undefined);
  if (st?.size !== m.base.size) return { same: false };
  const key = `${modelPath}\u0000${st.size}\u0000${st.mtimeMs}`;
  let d = digests.get(key);
  if (!d) {
    d = sha256File(modelPath);
    d.catch(() => digests.delete(key));
    digests.set(key, d);
  }
  const sha256 = await d;
  return { same: sha256 === m.base.sha256, sha256 };
}

export interface AdapterRun {
  modelPath: string;
  relationSet?: RelationSet;
  template?: { name: string };
  answers?: 'names' | 'codes';
  /** The run's level: an adapter trained at the other level is warned about. */
  level?: 'sentence' | 'document';
}

/** Throws when an adapter's manifest names another base model or relation set; returns warnings. */
export async function checkAdapters(
  adapters: Array<{ path: string }>,
  run: AdapterRun,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const a of adapters) {
    const m = await readAdapterManifest(a.path);
    if (!m) continue;
    const base = await isTrainedBase(m, run.modelPath);
    if (!base.same)
      throw new InputError(
        `LoRA adapter ${a.path} was trained on the base model ${path.basename(m.base.path)} (sha256 ${m.base.sha256.slice(0, 12)}…), not on ${run.modelPath}${base.sha256 ? ` (sha256 ${base.sha256.slice(0, 12)}…)` : ''}: use that base model, or train an adapter for this one`,
        adapterManifestPath(a.path),
      );
    const rs = run.relationSet;
    if (rs) {
      if (!sameRelationSet(m.relationSet, rs))
        throw new InputError(
          `LoRA adapter ${a.path} was trained for another relation set than this run's (${relationSetDifference(m.relationSet, rs)}): its answers would mean other relations`,
          adapterManifestPath(a.path),
        );
      // The set's name is not in the prompts (rel_info.json read as --relations is named after its
      // folder, as --rel-info it is "docred"): only descriptions and the like are worth a word.
      const digest = (x: RelationSet) => textSha256(JSON.stringify(x));
      if (
        digest(rs) !== m.relationSet.sha256 &&
        digest({ ...rs, name: m.relationSet.name }) !== m.relationSet.sha256
      )
        warnings.push(
          `LoRA adapter ${a.path}: the relation set's descriptions differ from the ones it was trained with`,
        );
    }
    if (run.template && run.template.name !== m.template.name)
      warnings.push(
        `LoRA adapter ${a.path} was trained with the template ${m.template.name}, this run uses ${run.template.name}: it does best with the prompt it was trained on`,
      );
    const trainedAt = m.document ? 'document' : 'sentence';
    if (run.level && run.level !== trainedAt)
      warnings.push(
        `LoRA adapter ${a.path} was trained on ${trainedAt}-level prompts, this run sends ${run.level}-level ones (train with train-lora --level ${run.level})`,
      );
    if (run.answers && run.answers !== m.answers)
      warnings.push(
        `LoRA adapter ${a.path} was trained to answer with ${m.answers}, this run asks for ${run.answers} (pass --answers ${m.answers})`,
      );
  }
  return warnings;
}

/** What differs between the relation set an adapter was trained for and a run's, in words. */
export function relationSetDifference(
  trained: { name: string; labels: string[]; noRelation: string | null },
  run: RelationSet,
): string {
  const now = run.labels.map((l) => l.name);
  const had = new Set(trained.labels);
  const has = new Set(now);
  const list = (xs: string[]) =>
    xs.length > 8 ? `${xs.slice(0, 8).join(', ')} and ${xs.length - 8} more` : xs.join(', ');
  const parts: string[] = [];
  const onlyTrained = trained.labels.filter((l) => !has.has(l));
  const onlyRun = now.filter((l) => !had.has(l));
  if (onlyTrained.length) parts.push(`trained with ${list(onlyTrained)}, which this set lacks`);
  if (onlyRun.length) parts.push(`this set adds ${list(onlyRun)}`);
  if (
    !onlyTrained.length &&
    !onlyRun.length &&
    now.join('\u0000') !== trained.labels.join('\u0000')
  ) {
    const i = now.findIndex((l, k) => l !== trained.labels[k]);
    parts.push(
      `the same labels in another order (first difference at position ${i + 1}: ${now[i]} here, ${trained.labels[i]} when trained)`,
    );
  }
  if ((run.noRelation ?? null) !== trained.noRelation)
    parts.push(
      `no-relation label ${JSON.stringify(run.noRelation ?? null)} here, ${JSON.stringify(trained.noRelation)} when trained`,
    );
  const names =
    trained.name === run.name ? trained.name : `trained for ${trained.name}, this run ${run.name}`;
  return `${names}: ${parts.join('; ')}`;
}
