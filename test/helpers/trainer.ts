/**
 * The Python LoRA trainer for tests: the venv `npm test` sets up (scripts/setup-trainer.sh, run by
 * pretest) in .cache/trainer-venv, or $RELATION_LENS_TRAINER_VENV. A test that needs it skips
 * with a visible SKIP line when it is not set up (no Python or no package index here).
 */
import * as path from 'node:path';
import { trainerReady } from '../../src/node/trainer';

export const TRAINER_VENV =
  process.env['RELATION_LENS_TRAINER_VENV'] ||
  path.resolve(__dirname, '..', '..', '.cache', 'trainer-venv');

export async function trainerVenv(ctx: Mocha.Context): Promise<string> {
  if (!(await trainerReady(TRAINER_VENV))) {
    console.log(
      `    SKIP: the LoRA trainer is not set up in ${TRAINER_VENV} (scripts/setup-trainer.sh installs it; it needs Python ≥ 3.10 and PyPI)`,
    );
    ctx.skip();
  }
  process.env['RELATION_LENS_TRAINER_VENV'] = TRAINER_VENV;
  return TRAINER_VENV;
}
