/**
 * The one output policy of every command that writes a file (CLI and engine process alike):
 *
 * - an output may not be one of the command's inputs (same file, also through links);
 * - an output must be a regular file (or not exist yet): devices, pipes and folders are refused
 *   before any work starts, and the output's folder is created before a model is loaded;
 * - a file the run did not create is never truncated or replaced without `force`;
 * - an appending output (extract, extract-doc) is resumed only when every line is one of this
 *   tool's records; valid lines stay byte-identical, a bad line stops the run with file:line,
 *   and a torn last line (an interrupted write) is moved aside into a file, never dropped;
 * - one run per output: a lock file (`OUT.lock`, created with O_EXCL) names the process holding it;
 *   a lock whose process is gone is taken over;
 * - each record is appended with one write; a failed write (disk full) is rolled back to the last
 *   complete line, so the output always ends with a complete record.
 */
import { constants as fsc, createReadStream, promises as fs, unlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { JsonDepthError, parseBoundedJson } from '../core/io/jsonDepth';
import { splitLines } from '../core/io/lines';
import { writeFileAtomic } from './files';

/** Why an output cannot be written; names the file. */
export class OutputError extends InputError {
  constructor(message: string, file: string, line?: number) {
    super(message, file, line);
    this.name = 'OutputError';
  }
}

/** The existing file is not one this tool wrote (its first line is not a record). */
export class NotOurOutputError extends OutputError {}

const sameFile = (a: { dev: number; ino: number }, b: { dev: number; ino: number }) =>
  a.dev === b.dev && a.ino === b.ino;

/** `-o -`: standard output (one-piece outputs only). */
export const STDOUT = '-';

/** Where an output went, as a person reads it. */
export const outputName = (out: string): string => (out === STDOUT ? 'standard output' : out);

/**
 * Checks an output path before any work: not an input, a regular file when it exists, its folder
 * exists (created) and is writable. Returns the output's size (0 when it does not exist).
 */
export async function prepareOutput(
  out: string,
  inputs: Array<string | undefined>,
): Promise<{ exists: boolean; size: number }> {
  if (out === STDOUT)
    throw new OutputError(
      'standard output (-o -) takes one-piece outputs (import, export); this command writes as it goes and resumes, so it needs a file',
      '-o -',
    );
  const st = await fs.stat(out).catch(() => undefined);
  if (st && !st.isFile())
    throw new OutputError(
      `not a regular file (${st.isDirectory() ? 'a folder' : 'a device, pipe or socket'}); write the output to a file`,
      out,
    );
  if (st)
    for (const input of inputs) {
      if (!input) continue;
      const ist = await fs.stat(input).catch(() => undefined);
      if (ist && sameFile(st, ist))
        throw new OutputError(
          `the output is also an input of this command${path.resolve(input) !== path.resolve(out) ? ` (${input})` : ''}; choose another output file`,
          out,
        );
    }
  else {
    // Not there yet: the same path spelled differently is caught by resolving it.
    const resolved = path.resolve(out);
    for (const input of inputs)
      if (input && path.resolve(input) === resolved)
        throw new OutputError(
          `the output is also an input of this command; choose another output file`,
          out,
        );
  }
  const dir = path.dirname(path.resolve(out));
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new OutputError(`cannot create the output folder ${dir}: ${(e as Error).message}`, out);
  }
  try {
    await fs.access(st ? out : dir, fsc.W_OK);
  } catch {
    throw new OutputError(
      st ? 'the output file is not writable' : `the output folder ${dir} is not writable`,
      out,
    );
  }
  return { exists: !!st, size: st?.size ?? 0 };
}

/** Refuses to replace an existing file without `force` (for outputs written in one piece). */
export async function prepareReplace(
  out: string,
  inputs: Array<string | undefined>,
  force: boolean | undefined,
): Promise<void> {
  if (out === STDOUT) return;
  const { exists } = await prepareOutput(out, inputs);
  if (exists && !force)
    throw new OutputError(
      'the output file exists; pass --force to replace it (or choose another -o)',
      out,
    );
}

// ---------------------------------------------------------------------------------------------
// Locks

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
}

const held = new Set<string>();
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const lockPath = (out: string) => `${out}.lock`;

/**
 * Takes the lock of an output (`OUT.lock`, O_EXCL) or throws naming the process that holds it.
 * The returned function releases it; the lock is also removed when the process exits.
 */
export async function lockOutput(
  out: string,
  command = process.argv.slice(1).join(' '),
): Promise<() => Promise<void>> {
  const file = lockPath(out);
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true }).catch(() => undefined);
  const info: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    started: new Date().toISOString(),
    command,
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await createLockFile(file, info);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new OutputError(`cannot create the lock file ${file}: ${(e as Error).message}`, out);
      const other = await readLock(file);
      const stale = other
        ? other.host === os.hostname() && !alive(other.pid)
        : await olderThan(file, 10_000);
      if (!stale || attempt >= 2) {
        const who = other
          ? `pid ${other.pid}${other.host !== os.hostname() ? ` on ${other.host}` : ''}, started ${other.started}: ${other.command}`
          : 'unknown process';
        throw new OutputError(
          `another run is writing this file (${who}); wait for it to finish or stop it (lock: ${file})`,
          out,
        );
      }
      await fs.rm(file, { force: true });
    }
  }
  held.add(file);
  await removeStrayLockTemps(file);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const f of held)
        try {
          unlinkSync(f);
        } catch {
          /* already gone */
        }
    });
  }
  return async () => {
    if (!held.delete(file)) return;
    await fs.rm(file, { force: true });
  };
}

/**
 * Creates `file` holding `info`, failing with EEXIST when it exists. The content is written to a
 * private file first and hard-linked into place, so the lock never exists empty (a run killed
 * between creating and writing it left an unreadable lock that blocked the next run). Where the
 * file system has no hard links, falls back to O_EXCL and a write.
 */
async function createLockFile(file: string, info: LockInfo): Promise<void> {
  const text = JSON.stringify(info) + '\n';
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, text, { flag: 'w' });
  try {
    await fs.link(tmp, file);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const fh = await fs.open(file, 'wx');
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

/** Removes the private lock files of runs killed between writing and linking them. */
async function removeStrayLockTemps(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const prefix = path.basename(file) + '.';
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1])))
      await fs.rm(path.join(dir, name), { force: true });
  }
}

async function readLock(file: string): Promise<LockInfo | undefined> {
  try {
    const v = JSON.parse(await fs.readFile(file, 'utf8')) as LockInfo;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  const st = await fs.stat(file).catch(() => undefined);
  return !st || Date.now() - st.mtimeMs > ms;
}

// ---------------------------------------------------------------------------------------------
// Resumable record outputs

/** Is this parsed line one of this tool's records (canonical: string id, text, entities)? */
function isRecordLike(v: unknown): v is { id: string } {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o['id'] === 'string' && typeof o['text'] === 'string' && Array.isArray(o['entities'])
  );
}

export interface ResumeState {
  /** Ids of the records already in the output. */
  done: Set<string>;
  /** The output's size in bytes after the scan (after a torn last line was moved aside). */
  size: number;
  /** The output's last line has no newline: one is written before the next record. */
  needsNewline: boolean;
  /** Where a torn last line was moved, when there was one. */
  tornTo?: string;
  /**
   * Lines (1-based) of records whose extraction had errors (meta.extraction.errors), with
   * whether a person curated the record since; read by --retry-errors.
   */
  errorLines?: Map<number, { id: string; curated: boolean }>;
  /** --retry-errors: records with extraction errors taken out to be extracted again. */
  retried?: number;
  /** --retry-errors: records with errors kept because a person curated them since. */
  retryCurated?: number;
}

/**
 * Scans an existing output line by line (never the whole file in memory) and returns the ids it
 * holds. Throws with file:line on the first line that is not one of this tool's records, except
 * a torn last line (no newline, not JSON: an interrupted write), which is moved into
 * `OUT.torn-TIME` and cut. Nothing else is changed.
 */
export async function scanForResume(out: string): Promise<ResumeState> {
  const errorLines = new Map<number, { id: string; curated: boolean }>();
  const done = new Set<string>();
  let size = 0;
  let lastEol = true;
  let torn: { no: number; bytes: Uint8Array; at: number } | undefined;
  for await (const l of splitLines(
    createReadStream(out, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>,
  )) {
    const lineStart = size;
    size += l.bytes.length + l.eol.length;
    lastEol = l.eol !== '';
    if (l.text !== null && l.text.trim() === '') continue;
    const bad = (why: string): never => {
      if (l.no === 1 && done.size === 0)
        throw new NotOurOutputError(
          `not a Relation Lens output (${why.replace('this line', 'line 1')}); nothing was written. Choose another -o, or pass --force to replace this file`,
          out,
        );
      throw new OutputError(
        `${why}; the output cannot be resumed past this line. Fix or remove the line and run the same command again (nothing was written)`,
        out,
        l.no,
      );
    };
    if (l.text === null) {
      if (!lastEol) torn = { no: l.no, bytes: l.bytes, at: lineStart };
      else bad('this line is not valid UTF-8');
      continue;
    }
    let v: unknown;
    try {
      v = parseBoundedJson(l.text);
    } catch (e) {
      if (e instanceof JsonDepthError) bad(`this line ${e.message}`);
      if (!lastEol) {
        torn = { no: l.no, bytes: l.bytes, at: lineStart };
        continue;
      }
      bad('this line is not JSON');
    }
    if (!isRecordLike(v))
      bad('this line is not a record (a JSON object with a string "id", "text" and "entities")');
    const id = (v as { id: string }).id;
    const { errors, curated } = extractionState(v);
    if (errors) errorLines.set(l.no, { id, curated });
    if (done.has(id)) bad(`this line repeats the record id ${JSON.stringify(id)}`);
    done.add(id);
  }
  if (torn) {
    const tornTo = `${out}.torn-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await fs.writeFile(tornTo, torn.bytes, { flag: 'wx' });
    await fs.truncate(out, torn.at);
    return { done, size: torn.at, needsNewline: false, tornTo, errorLines };
  }
  return { done, size, needsNewline: !lastEol && size > 0, errorLines };
}

/** A record line's extraction errors (meta.extraction.errors), and whether a person curated it. */
function extractionState(v: unknown): { errors: number; curated: boolean } {
  const r = v as {
    relations?: Array<{ status?: string }>;
    meta?: { extraction?: { errors?: unknown[] } };
  };
  const errors = Array.isArray(r.meta?.extraction?.errors) ? r.meta.extraction.errors.length : 0;
  const curated = (r.relations ?? []).some(
    (x) => x.status === 'accepted' || x.status === 'rejected',
  );
  return { errors, curated };
}

/**
 * `--retry-errors`: takes the records whose extraction had errors (a server answer outside the
 * set, a timeout) out of the output, so that resume extracts them again; every other line stays
 * byte-identical (the file is rewritten atomically, under the lock). A record a person has
 * curated since (an accepted or rejected relation) is kept as it is. The lines to drop are the
 * ones the resume scan found (`errorLines`): nothing is parsed again.
 */
export async function dropErrorRecords(out: string, state: ResumeState): Promise<ResumeState> {
  const found = [...(state.errorLines ?? new Map()).entries()];
  const drop = new Set(found.filter(([, e]) => !e.curated).map(([no]) => no));
  const retryCurated = found.length - drop.size;
  if (!drop.size) return { ...state, retried: 0, retryCurated };
  const kept: Uint8Array[] = [];
  let size = 0;
  for await (const l of splitLines(
    createReadStream(out, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>,
  )) {
    if (drop.has(l.no)) continue;
    const bytes = Buffer.concat([l.bytes, Buffer.from(l.eol)]);
    kept.push(bytes);
    size += bytes.length;
  }
  await writeFileAtomic(out, Buffer.concat(kept));
  const retried = new Set(found.filter(([no]) => drop.has(no)).map(([, e]) => e.id));
  const last = kept[kept.length - 1];
  return {
    ...state,
    done: new Set([...state.done].filter((id) => !retried.has(id))),
    size,
    needsNewline: !!last && last[last.length - 1] !== 0x0a,
    retried: retried.size,
    retryCurated,
  };
}

/**
 * Opens an appending record output under the output policy: checks the path, takes the lock,
 * and (resume) scans what is there or (no resume) refuses to replace an existing file unless
 * `force`. The caller appends lines and closes it.
 */
export async function openRecordOutput(
  out: string,
  opts: {
    inputs: Array<string | undefined>;
    resume: boolean;
    force?: boolean;
    command?: string;
    /** Resume also redoes the records whose extraction had errors (see dropErrorRecords). */
    retryErrors?: boolean;
  },
): Promise<RecordOutput> {
  const { exists, size } = await prepareOutput(out, opts.inputs);
  const unlock = await lockOutput(out, opts.command);
  try {
    let state: ResumeState = { done: new Set(), size: 0, needsNewline: false };
    if (exists && size > 0) {
      if (!opts.resume && !opts.force)
        throw new OutputError(
          'the output file exists; run without --no-resume to continue it, or pass --force to start over (its records are replaced)',
          out,
        );
      if (opts.resume) {
        try {
          state = await scanForResume(out);
        } catch (e) {
          if (!(opts.force && e instanceof NotOurOutputError)) throw e;
          await fs.truncate(out, 0);
        }
        if (opts.retryErrors && state.done.size) state = await dropErrorRecords(out, state);
      } else await fs.truncate(out, 0);
    }
    return new RecordOutput(out, state, unlock);
  } catch (e) {
    await unlock();
    throw e;
  }
}

/**
 * Runs `fn` with an opened output: says where a torn last line was moved, and closes (unlocks)
 * the output whatever happens.
 */
export async function usingOutput<T>(
  output: RecordOutput,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    const { retried, retryCurated } = output.resumed;
    if (retried)
      log(
        `${output.file}: ${retried} record(s) whose extraction had errors taken out, to be extracted again (--retry-errors)`,
      );
    if (retryCurated)
      log(
        `${output.file}: ${retryCurated} record(s) with extraction errors were curated since; kept as they are`,
      );
    if (output.resumed.tornTo)
      log(
        `${output.file}: its last line was incomplete (an interrupted write); moved to ${output.resumed.tornTo}`,
      );
    return await fn();
  } finally {
    await output.close();
  }
}

/**
 * Appends `buf` to an append-mode file (one write, repeated only for a short write); on failure
 * (disk full, quota) the file is cut back to `size`, its length before, and the error says so.
 */
async function writeAllOrRollBack(
  fh: fs.FileHandle,
  buf: Buffer,
  size: number,
  file: string,
  after: string,
): Promise<void> {
  let written = 0;
  try {
    while (written < buf.length)
      written += (await fh.write(buf, written, buf.length - written, null)).bytesWritten;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    await fh.truncate(size).catch(() => undefined);
    const why =
      err.code === 'ENOSPC'
        ? 'the disk is full'
        : err.code === 'EDQUOT'
          ? 'the disk quota is exceeded'
          : err.message;
    throw new OutputError(`cannot write: ${why}; ${after}`, file);
  }
}

export class RecordOutput {
  private size: number;
  private needsNewline: boolean;
  private closed = false;
  /** Opened at the first record: a run that stops before writing anything creates no file. */
  private fh: fs.FileHandle | undefined;

  constructor(
    readonly file: string,
    readonly resumed: ResumeState,
    private readonly unlock: () => Promise<void>,
  ) {
    this.size = resumed.size;
    this.needsNewline = resumed.needsNewline;
  }

  get done(): Set<string> {
    return this.resumed.done;
  }

  /** Appends one line (no newline in `line`) with one write; a failed write is rolled back. */
  async append(line: string): Promise<void> {
    const buf = Buffer.from((this.needsNewline ? '\n' : '') + line + '\n', 'utf8');
    this.fh ??= await fs.open(this.file, 'a');
    await writeAllOrRollBack(
      this.fh,
      buf,
      this.size,
      this.file,
      'the output ends with its last complete record, run the same command again to resume',
    );
    this.size += buf.length;
    this.needsNewline = false;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.fh?.sync().catch(() => undefined);
      await this.fh?.close();
    } finally {
      await this.unlock();
    }
  }
}

/**
 * Appends lines to a file with one write, keeping every existing byte (also invalid UTF-8): a
 * newline is added first when the file does not end with one; a failed write is rolled back.
 * A file that cannot be read is an error (never taken as empty).
 */
export async function appendLines(file: string, lines: string[]): Promise<void> {
  const st = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new OutputError(`cannot read: ${e.message}`, file);
  });
  if (st && !st.isFile()) throw new OutputError('not a regular file', file);
  const fh = await fs.open(file, 'a+').catch((e: Error) => {
    throw new OutputError(`cannot open for appending: ${e.message}`, file);
  });
  try {
    const size = (await fh.stat()).size;
    let lead = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 10) lead = '\n';
    }
    await writeAllOrRollBack(
      fh,
      Buffer.from(lead + lines.map((l) => l + '\n').join(''), 'utf8'),
      size,
      file,
      'the file is as it was',
    );
  } finally {
    await fh.close();
  }
}

/**
 * Writes an output in one piece under the output policy (src/node/output.ts): never one of the
 * inputs, never an existing file without --force, locked while written, atomic.
 */
export async function writeOutput(
  out: string,
  inputs: Array<string | undefined>,
  force: boolean | undefined,
  data: () => string | Promise<string>,
): Promise<void> {
  if (out === STDOUT) {
    const text = await data();
    await new Promise<void>((resolve, reject) =>
      process.stdout.write(text, (e) => (e ? reject(e) : resolve())),
    );
    return;
  }
  // Locked first, then checked: no other run can create the file in between.
  const unlock = await lockOutput(out);
  try {
    await prepareReplace(out, inputs, force);
    await writeFileAtomic(out, await data());
  } finally {
    await unlock();
  }
}
