/**
 * Where models come from: a local GGUF path, an `hf:` URI or an http(s) URL (downloaded by
 * node-llama-cpp's downloader into the user cache, with progress and cancellation), or an id of
 * the catalog in models/catalog.json (checked against its sha256 when the catalog has one, else
 * pinned on first download: see pinChecksum).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AbortError } from '../core/ports';
import { EngineError, nodeLlamaCpp } from './llama';

import { CATALOG } from '../core/models/catalog';
export { CATALOG, DEFAULT_MODEL_ID } from '../core/models/catalog';
export type { CatalogEntry } from '../core/models/catalog';

/** The user cache for downloaded models: $RELATION_LENS_MODELS, else XDG cache, else ~/.cache. */
export function modelCacheDir(): string {
  if (process.env['RELATION_LENS_MODELS']) return process.env['RELATION_LENS_MODELS'];
  const base =
    process.env['XDG_CACHE_HOME'] ||
    (process.platform === 'win32' ? process.env['LOCALAPPDATA'] : undefined) ||
    path.join(os.homedir(), '.cache');
  return path.join(base!, 'relation-lens', 'models');
}

export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 22, signal }))
    h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface ResolveOptions {
  signal?: AbortSignal;
  onProgress?: (downloaded: number, total: number) => void;
  /** Expected sha256 (hex) of the file. */
  sha256?: string | null;
  /** Download directory (default: modelCacheDir()). */
  directory?: string;
  /** Override node-llama-cpp's endpoints (e.g. a Hugging Face mirror). */
  huggingFaceEndpoint?: string;
}

/** Resolves a model spec to a local GGUF file, downloading it when needed. */
export async function resolveModel(spec: string, opts: ResolveOptions = {}): Promise<string> {
  const entry = CATALOG.find((e) => e.id === spec);
  const uri = entry ? entry.uri : spec;
  const expected = opts.sha256 ?? entry?.sha256 ?? null;
  let file: string;
  if (/^(hf:|huggingface:|https?:\/\/)/.test(uri)) {
    const m = await nodeLlamaCpp();
    try {
      file = await m.resolveModelFile(uri, {
        directory: opts.directory ?? modelCacheDir(),
        cli: false,
        signal: opts.signal,
        onProgress: opts.onProgress
          ? (s) => opts.onProgress!(s.downloadedSize, s.totalSize)
          : undefined,
        endpoints: opts.huggingFaceEndpoint ? { huggingFace: opts.huggingFaceEndpoint } : undefined,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw new AbortError('download cancelled');
      throw new EngineError(
        `cannot download model ${uri}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    // node-llama-cpp cancels on abort but still resolves with the target path: never hand out a partial file.
    if (opts.signal?.aborted) {
      await fs.rm(file, { force: true });
      throw new AbortError('download cancelled');
    }
    if (!existsSync(file))
      throw new EngineError(`cannot download model ${uri}: the download did not produce ${file}`);
  } else {
    file = path.resolve(uri);
    if (!existsSync(file))
      throw new EngineError(
        `model not found: ${spec} (give a GGUF file path, an hf:USER/REPO:QUANT URI, an https URL, or a catalog id: ${CATALOG.map((e) => e.id).join(', ')})`,
      );
  }
  if (expected) await verifyChecksum(file, expected, opts.signal);
  else if (/^(hf:|huggingface:|https?:\/\/)/.test(uri)) await pinChecksum(file, opts.signal);
  return file;
}

/**
 * A download without a published digest is pinned on first use: its sha256 is written beside it
 * (`FILE.sha256`) and every later use checks the file against it, so a file changed or damaged
 * in the cache since is refused. (The first download itself is checked by size only.)
 */
export async function pinChecksum(file: string, signal?: AbortSignal): Promise<void> {
  const pinned = (await fs.readFile(`${file}.sha256`, 'utf8').catch(() => '')).split(' ')[0];
  if (pinned && /^[0-9a-f]{64}$/.test(pinned)) return verifyChecksum(file, pinned, signal);
  const st = await fs.stat(file);
  await writeStamp(file, await sha256File(file, signal), st);
}

/** The `.sha256` stamp beside a checked file: its digest, and the size and time it was checked at. */
const stampOf = (digest: string, st: { size: number; mtimeMs: number }) =>
  `${digest} ${st.size} ${st.mtimeMs}`;

async function writeStamp(
  file: string,
  digest: string,
  st: { size: number; mtimeMs: number },
): Promise<void> {
  await fs.writeFile(`${file}.sha256`, stampOf(digest, st)).catch(() => undefined);
}

/** Checks a file's sha256 once; a verified file gets a `.sha256` stamp beside it. */
export async function verifyChecksum(
  file: string,
  expected: string,
  signal?: AbortSignal,
): Promise<void> {
  const stamp = `${file}.sha256`;
  const st = await fs.stat(file);
  const cached = await fs.readFile(stamp, 'utf8').catch(() => '');
  if (cached === stampOf(expected, st)) return;
  const actual = await sha256File(file, signal);
  if (actual !== expected.toLowerCase())
    throw new EngineError(
      `checksum mismatch for ${file}: sha256 ${actual}, expected ${expected} (the download may be corrupt; delete the file and retry)`,
    );
  await writeStamp(file, expected, st);
}
