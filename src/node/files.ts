/** File access for the CLI and the extension host (Node): streaming reads and atomic writes. */
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Diagnostic, InputError } from '../core/diagnostics';
import { Line, splitLines } from '../core/io/lines';

/** Progress callback: bytes read so far and the file's size. */
export type ByteProgress = (read: number, total: number) => void;

let progressHook: ByteProgress | undefined;
/** Sets a process-wide progress hook for file reads (the CLI's progress bar). */
export function setReadProgress(hook: ByteProgress | undefined): void {
  progressHook = hook;
}

export async function* readLines(file: string): AsyncGenerator<Line> {
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch {
    throw new InputError('file not found or not readable', file);
  }
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const hook = progressHook;
  if (hook) {
    let read = 0;
    stream.on('data', (chunk) => {
      read += chunk.length;
      hook(read, size);
    });
  }
  yield* splitLines(stream as AsyncIterable<Uint8Array>);
}

/** The first `bytes` of a file as text (for format detection), without a BOM. */
export async function readHead(file: string, bytes = 64 * 1024): Promise<string> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch {
    throw new InputError('file not found or not readable', file);
  }
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } finally {
    await fh.close();
  }
}

/**
 * Reads a whole text file. Invalid UTF-8 is reported per line (with its number) and replaced by
 * U+FFFD so that the rest of the file is still read.
 */
export async function readText(file: string): Promise<{ text: string; diagnostics: Diagnostic[] }> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch {
    throw new InputError('file not found or not readable', file);
  }
  const diagnostics: Diagnostic[] = [];
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return { text, diagnostics };
  } catch {
    for await (const l of splitLines([buf]))
      if (l.text === null)
        diagnostics.push({
          file,
          line: l.no,
          severity: 'error',
          message: 'invalid UTF-8 byte sequence (replaced with U+FFFD)',
        });
    return { text: new TextDecoder('utf-8').decode(buf), diagnostics };
  }
}

/** Whether something exists at the path (a file, a folder; a broken link does not). */
export async function pathExists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** Writes a file atomically: a temporary file in the same folder, then a rename. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * A writer for large outputs: lines go to a temporary file that replaces the target only on
 * commit(), so an interrupted run never leaves a half-written target.
 */
export class AtomicLineWriter {
  private readonly tmp: string;
  private handle: fs.FileHandle | undefined;
  private pending: string[] = [];
  private pendingSize = 0;

  private constructor(readonly file: string) {
    this.tmp = path.join(
      path.dirname(path.resolve(file)),
      `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`,
    );
  }

  static async open(file: string): Promise<AtomicLineWriter> {
    const w = new AtomicLineWriter(file);
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    w.handle = await fs.open(w.tmp, 'w');
    return w;
  }

  async write(s: string): Promise<void> {
    this.pending.push(s);
    this.pendingSize += s.length;
    if (this.pendingSize > 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.handle || this.pending.length === 0) return;
    await this.handle.write(this.pending.join(''));
    this.pending = [];
    this.pendingSize = 0;
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.handle?.close();
    this.handle = undefined;
    await fs.rename(this.tmp, this.file);
  }

  async abort(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    await fs.rm(this.tmp, { force: true });
  }
}

/** Is `file` inside `folder` (or the folder itself), after resolving both? */
export function isInsideFolder(folder: string, file: string): boolean {
  const rel = path.relative(path.resolve(folder), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
