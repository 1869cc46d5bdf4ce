// The main job on the bundled sample: import it into canonical JSONL and score the sample
// predictions with the official SemEval-2010 Task 8 metric. (When the engine lands, this job
// extracts relations with a model instead of reading a predictions file.)
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

const run = (...args) => {
  console.log(`$ relation-lens ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
mkdirSync('out', { recursive: true });
run('import', '--format', 'semeval', 'samples/semeval-sample.txt', '-o', 'out/sample.jsonl', '--relation-set-out', 'out/semeval.relations.json');
run('eval', '--metric', 'semeval', '--gold', 'samples/semeval-sample.txt', '--pred', 'samples/semeval-sample-predictions.txt');
