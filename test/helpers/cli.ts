/** The CLI as a user runs it: dist/cli.js (built on demand) in a child process. */
import { strict as assert } from 'node:assert';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RelRecord } from '../../src/core/schema';

export const ROOT = path.resolve(__dirname, '..', '..');
/** RELATION_LENS_CLI runs the tests against another build (e.g. an older commit's, to see a regression test fail). */
export const CLI = process.env['RELATION_LENS_CLI'] ?? path.join(ROOT, 'dist', 'cli.js');
export const SAMPLE = path.join(ROOT, 'samples', 'semeval-sample.txt');

export function ensureBuilt(): void {
  if (existsSync(CLI)) return;
  const b = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(b.status, 0, b.stderr);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export function cli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** Starts the CLI; `done` resolves when it exits. */
export function cliAsync(...args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  return cliAsyncWith({}, ...args);
}

/** cliAsync with variables added to (or, set to undefined, removed from) the environment. */
export function cliAsyncWith(
  env: Record<string, string | undefined>,
  ...args: string[]
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined),
    ),
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out, err })),
  );
  return { child, done };
}

/** A scratch folder with a BM25 index of the bundled sample (for `extract --mode knn`: no model, fast). */
export function knnScratch(prefix: string): { dir: string; index: string } {
  ensureBuilt();
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const index = path.join(dir, 'index');
  const r = cli('index', 'build', SAMPLE, '-o', index);
  assert.equal(r.code, 0, r.err);
  return { dir, index };
}

/** `extract` arguments for the nearest-neighbour vote over `index`. */
export const knnArgs = (index: string, input: string, out: string, ...more: string[]): string[] => [
  'extract',
  input,
  '--mode',
  'knn',
  '--rag',
  index,
  '--demonstrations',
  '3',
  ...more,
  '-o',
  out,
];

/** A fresh scratch folder under the system temp directory. */
export function tmp(prefix = 'rl-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** The bundled SemEval sample as canonical records (samples/semeval-sample.jsonl), a fresh copy. */
export const sampleRecords = (): RelRecord[] =>
  readFileSync(path.join(ROOT, 'samples', 'semeval-sample.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RelRecord);

/** Records as JSONL text. */
export const jsonl = (recs: RelRecord[]): string =>
  recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
