/**
 * What determines a run's result, recorded beside its output (`OUT.runs.jsonl`, one line appended
 * per run, never rewritten): the model and adapter files by sha256, the template and relation set
 * by hash, the settings, the engine and the llama.cpp release. Two runs with equal provenance
 * and `deterministic: true` give the same labels and scores.
 */
import { createHash } from 'node:crypto';
import { sha256File } from '../engine/models';
import { appendLines } from './output';

export const runsPath = (out: string): string => out.replace(/(\.jsonl)?$/, '.runs.jsonl');

export const textSha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export async function fileDigest(file: string): Promise<{ path: string; sha256: string }> {
  return { path: file, sha256: await sha256File(file) };
}

export interface RunRecord {
  command: string;
  started: string;
  finished: string;
  status: 'completed' | 'interrupted' | 'failed';
  records: { written: number; resumed: number };
  [key: string]: unknown;
}

export async function appendRunRecord(out: string, record: RunRecord): Promise<void> {
  await appendLines(runsPath(out), [JSON.stringify(record)]);
}
