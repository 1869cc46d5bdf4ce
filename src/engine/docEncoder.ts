/**
 * The document encoder's runtime: its two ONNX graphs in onnxruntime-node (CPU) and its
 * WordPiece tokenizer (@huggingface/tokenizers, pure JS). A model folder holds
 *   encoder-config.json  what the trainer wrote (relations, types, window, tokenizer sha256)
 *   encoder.onnx         one window → hidden states, last-layer attention, BIO logits
 *   head.onnx            one document's merged outputs + pairs → relation logits
 *   tokenizer.json       the base encoder's tokenizer
 *   manifest.json        keep threshold, held-out scores, base, data, command (train-encoder)
 * A folder with anything missing or not matching (another tokenizer than the one trained with)
 * is refused with what differs. onnxruntime-node is loaded on first use (a native module).
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import {
  DocumentEncoder,
  EncoderBackend,
  EncoderConfig,
  checkEncoderRelations,
  EncoderConfigSchema,
  EncoderManifest,
  EncoderManifestSchema,
} from '../core/pipelines/docEncoder';
import { RelationSet, zodProblems } from '../core/schema';
import { sha256File } from './models';

export class EncoderModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderModelError';
  }
}

/** Whether a filter argument names an encoder model (a folder with encoder-config.json). */
export function isEncoderModel(p: string): boolean {
  return existsSync(path.join(p, 'encoder-config.json'));
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new EncoderModelError(`${file}: missing (an encoder model folder needs it)`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EncoderModelError(
      `${file}: invalid JSON: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

let ortModule: Promise<typeof Ort> | undefined;
const loadOrt = () => (ortModule ??= import('onnxruntime-node'));

class OrtBackend implements EncoderBackend {
  private cache = new Map<string, number[]>();

  constructor(
    private readonly ort: typeof Ort,
    private readonly encoder: Ort.InferenceSession,
    private readonly head: Ort.InferenceSession,
    private readonly tokenizer: {
      encode(t: string, o: { add_special_tokens: boolean }): { ids: number[] };
    },
    private readonly cfg: { heads: number; hidden: number; cls: number; sep: number },
  ) {}

  tokenize(word: string): number[] {
    let ids = this.cache.get(word);
    if (!ids) {
      ids = this.tokenizer.encode(word, { add_special_tokens: false }).ids;
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  async runWindow(ids: number[]) {
    const { Tensor } = this.ort;
    const T = ids.length + 2;
    const input = new BigInt64Array(T);
    input[0] = BigInt(this.cfg.cls);
    ids.forEach((id, i) => (input[i + 1] = BigInt(id)));
    input[T - 1] = BigInt(this.cfg.sep);
    const out = await this.encoder.run({
      input_ids: new Tensor('int64', input, [1, T]),
      attention_mask: new Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
    });
    return {
      hidden: out['hidden']!.data as Float32Array,
      attention: out['attention']!.data as Float32Array,
      bio: out['bio']!.data as Float32Array,
    };
  }

  async runHead(x: Parameters<EncoderBackend['runHead']>[0]) {
    const { Tensor } = this.ort;
    const n = x.length;
    const out = await this.head.run({
      hidden: new Tensor('float32', x.hidden, [n, this.cfg.hidden]),
      entity_attention: new Tensor('float32', x.entityAttention, [x.entities, this.cfg.heads, n]),
      mentions: new Tensor('float32', x.mentions, [x.entities, n]),
      heads: new Tensor('int64', BigInt64Array.from(x.heads, BigInt), [x.heads.length]),
      tails: new Tensor('int64', BigInt64Array.from(x.tails, BigInt), [x.tails.length]),
    });
    return out['logits']!.data as Float32Array;
  }
}

/** Opens an encoder model folder (refusing one that is incomplete or whose tokenizer differs). */
export async function openDocumentEncoder(
  dir: string,
  opts: { threads?: number; relationSet?: RelationSet } = {},
): Promise<DocumentEncoder> {
  const config = await readEncoderConfig(dir);
  // A run with another relation set is refused before anything heavy loads.
  if (opts.relationSet) checkEncoderRelations(config, opts.relationSet, dir);
  // The engine process opens the folder for every job: its sessions are kept while its files
  // stay as they are (a retrained or re-exported folder has new modification times).
  const stamp = await Promise.all(
    ['encoder-config.json', 'tokenizer.json', 'manifest.json', 'encoder.onnx', 'head.onnx'].map(
      (f) =>
        fs.stat(path.join(dir, f)).then(
          (st) => `${st.mtimeMs}:${st.size}`,
          () => '-',
        ),
    ),
  );
  const key = `${path.resolve(dir)}|${opts.threads ?? 0}|${stamp.join('|')}`;
  let open = opened.get(key);
  if (!open) {
    open = loadEncoder(dir, config, opts.threads);
    opened.set(key, open);
    open.catch(() => opened.delete(key));
    while (opened.size > 2) opened.delete(opened.keys().next().value!);
  }
  return open;
}

const opened = new Map<string, Promise<DocumentEncoder>>();

async function readEncoderConfig(dir: string): Promise<EncoderConfig> {
  const cfgFile = path.join(dir, 'encoder-config.json');
  const raw = await readJson(cfgFile);
  if ((raw as { version?: unknown } | null)?.version === 1)
    throw new EncoderModelError(
      `${cfgFile}: made by an older train-encoder (its head graph takes the whole attention matrix); write its graphs again with \`python trainer/train_encoder.py export --model ${dir}\` (it needs model.pt: --keep-torch) or train it again`,
    );
  const parsed = EncoderConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new EncoderModelError(
      `${cfgFile}: not a Relation Lens encoder configuration (${zodProblems(parsed.error).join('; ')})`,
    );
  return parsed.data;
}

async function loadEncoder(
  dir: string,
  config: EncoderConfig,
  threads: number | undefined,
): Promise<DocumentEncoder> {
  const cfgFile = path.join(dir, 'encoder-config.json');
  const tokFile = path.join(dir, 'tokenizer.json');
  if (!existsSync(tokFile))
    throw new EncoderModelError(`${tokFile}: missing (the encoder's tokenizer)`);
  const tokSha = await sha256File(tokFile);
  if (tokSha !== config.tokenizerSha256)
    throw new EncoderModelError(
      `${tokFile} is not the tokenizer the encoder was trained with (sha256 ${tokSha.slice(0, 12)}…, ${cfgFile} says ${config.tokenizerSha256.slice(0, 12)}…)`,
    );
  let manifest: EncoderManifest | undefined;
  const manFile = path.join(dir, 'manifest.json');
  if (existsSync(manFile)) {
    const m = EncoderManifestSchema.safeParse(await readJson(manFile));
    if (!m.success) throw new EncoderModelError(`${manFile}: ${zodProblems(m.error).join('; ')}`);
    manifest = m.data;
  }
  for (const f of ['encoder.onnx', 'head.onnx'])
    if (!existsSync(path.join(dir, f)))
      throw new EncoderModelError(`${path.join(dir, f)}: missing (the encoder's ONNX graphs)`);
  const ort = await loadOrt();
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const tokenizer = new Tokenizer(JSON.parse(await fs.readFile(tokFile, 'utf8')), {});
  if (
    tokenizer.id_to_token(config.cls) === undefined ||
    tokenizer.id_to_token(config.sep) === undefined
  )
    throw new EncoderModelError(
      `${tokFile}: has no token ${config.cls} or ${config.sep} ([CLS]/[SEP] in ${cfgFile})`,
    );
  const so: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads ?? 0,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  const open = async (f: string) => {
    try {
      return await ort.InferenceSession.create(path.join(dir, f), so);
    } catch (e) {
      throw new EncoderModelError(
        `${path.join(dir, f)}: onnxruntime cannot load it (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  };
  const backend = new OrtBackend(
    ort,
    await open('encoder.onnx'),
    await open('head.onnx'),
    tokenizer,
    config,
  );
  return new DocumentEncoder(config, backend, manifest, dir);
}
