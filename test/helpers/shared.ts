/** Access to ../shared (datasets) for tests; a test that needs it skips with a visible SKIP line. */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared');
export const DATASETS = path.join(SHARED, 'datasets');

export function dataset(...parts: string[]): string {
  return path.join(DATASETS, ...parts);
}

/** Skips the calling test (or suite hook) with a visible line when a shared file is missing. */
export function requireShared(ctx: Mocha.Context, ...files: string[]): void {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    console.log(
      `    SKIP: ${missing[0]} is not available (../shared/datasets is needed for this test)`,
    );
    ctx.skip();
  }
}
