/**
 * The model catalog (models/catalog.json) as data: ids, download URIs, sizes, checksums. Pure, so
 * the editor layer can list models without importing the engine; src/engine/models.ts resolves
 * and downloads them.
 */
import catalogJson from '../../../models/catalog.json';

export interface CatalogEntry {
  id: string;
  uri: string;
  /** Approximate download size in bytes, when known. */
  size: number | null;
  sha256: string | null;
  parameters: string;
  quantization: string;
  chatTemplate: string;
  languages: string[];
  recommended: string;
  hardware: 'cpu' | 'gpu' | 'cpu-or-gpu';
}

export const CATALOG: CatalogEntry[] = (catalogJson as { models: CatalogEntry[] }).models;
export const DEFAULT_MODEL_ID: string = (catalogJson as { default: string }).default;
