/**
 * The label → train → pre-annotate → review loop, measured on SemEval-2010 Task 8 with
 * SmolLM2-135M-Instruct on CPU. A simulated curator reviews with the gold labels:
 *   round 1: train an adapter on 200 curated training sentences;
 *   pre-annotate 200 more with it; the curator accepts the right predictions and corrects the
 *   wrong ones (rejects them, adds the gold relation) — the share accepted is the
 *   pre-annotation accuracy a curator sees;
 *   round 2: continue training the adapter (--resume-from) on all 400 curated sentences.
 * After each round the adapter is scored on the fixed 500 test sentences of bench/quality.ts.
 * Usage: npx tsx bench/loop.ts [--n 200] [--test 500] [--epochs 2] [--out DIR]
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { evaluateSemEval, semevalAnswers } from '../src/core/eval';
import { runSentenceExtraction } from '../src/core/pipelines/runner';
import { DEFAULT_TEMPLATE } from '../src/core/prompts/builtin';
import { RelRecord, Relation, RelationSet } from '../src/core/schema';
import { LlamaEngine } from '../src/engine/llama';
import { sentenceSpace } from '../src/node/jobs';
import { loadRecords } from '../src/node/load';
import { trainLoraJob } from '../src/node/trainLora';
import { TEST_SAMPLE_SEED, sample } from './sample';
import { DATASETS, MODEL, ROOT, VENV, arg } from './trainEnv';

const DATA = path.join(DATASETS, 'semeval2010_task8');

/** Label scoring with the adapter (relation names, the short prompt): finished records in order. */
async function extractWith(adapter: string, records: RelRecord[], rs: RelationSet) {
  const { space, direction } = sentenceSpace(rs);
  const engine = await LlamaEngine.open({
    modelPath: MODEL,
    loras: [{ path: adapter, scale: 1 }],
    parallel: 4,
    contextSize: 2048,
  });
  const out: RelRecord[] = [];
  try {
    for await (const r of runSentenceExtraction(engine, records, space, {
      relationSet: rs,
      template: DEFAULT_TEMPLATE,
      mode: 'score',
      direction,
      inFlight: 4,
      model: MODEL,
      scoreMargin: 1,
      answerCodes: false,
    }))
      out.push(r.record);
  } finally {
    await engine.dispose();
  }
  return out;
}

/**
 * A curator with the gold labels: a prediction that matches gold is accepted, a wrong one is
 * rejected and the gold relation added by hand. Returns the curated records and how many
 * predictions were accepted.
 */
function curateByGold(pred: RelRecord[], gold: Map<string, RelRecord>) {
  let accepted = 0;
  const key = (x: Relation) => `${x.head} ${x.label} ${x.tail}`;
  const curated = pred.map((r) => {
    const truth = new Set(gold.get(r.id)!.relations.map(key));
    const relations: Relation[] = r.relations.map((x) => {
      const ok = truth.has(key(x));
      if (ok) accepted++;
      return { ...x, status: ok ? 'accepted' : 'rejected' };
    });
    const kept = new Set(relations.filter((x) => x.status === 'accepted').map(key));
    for (const x of gold.get(r.id)!.relations)
      if (!kept.has(key(x))) relations.push({ ...x, source: 'human' });
    return { ...r, relations };
  });
  return { curated, accepted, predictions: pred.reduce((n, r) => n + r.relations.length, 0) };
}

async function train(
  name: string,
  records: RelRecord[],
  rs: RelationSet,
  o: { epochs: number; resumeFrom?: string; outDir: string },
) {
  const { space, direction } = sentenceSpace(rs);
  const out = path.join(o.outDir, `${name}.gguf`);
  const { manifest } = await trainLoraJob({
    input: path.join(DATA, 'TRAIN_FILE.TXT'),
    records,
    relationSet: rs,
    template: DEFAULT_TEMPLATE,
    space,
    direction,
    answerCodes: false,
    modelPath: MODEL,
    out,
    force: true,
    ...(o.resumeFrom ? { resumeFrom: o.resumeFrom } : {}),
    hyper: {
      epochs: o.epochs,
      rank: 16,
      alpha: 32,
      layers: 'top-10',
      lr: 1e-3,
      batchSize: 8,
      seed: 0,
    },
    venv: VENV,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  return { out, manifest };
}

async function main() {
  const n = Number(arg('--n', '200'));
  const outDir = arg('--out', path.join(ROOT, '.cache', 'bench-loop'));
  mkdirSync(outDir, { recursive: true });
  const trainSet = await loadRecords(path.join(DATA, 'TRAIN_FILE.TXT'));
  const testSet = await loadRecords(path.join(DATA, 'TEST_FILE_FULL.TXT'));
  // The short prompt (no descriptions) the fine-tuning table measured best.
  const full = testSet.relationSet!;
  const rs = { ...full, labels: full.labels.map((l) => ({ name: l.name, directed: l.directed })) };
  const pool = sample(trainSet.records, 2 * n, 7);
  const first = pool.slice(0, n);
  const second = pool.slice(n);
  const test = sample(testSet.records, Number(arg('--test', '500')), TEST_SAMPLE_SEED);
  const score = async (adapter: string) => {
    const pred = await extractWith(adapter, test, rs);
    return evaluateSemEval(semevalAnswers(test), semevalAnswers(pred));
  };
  const epochs = Number(arg('--epochs', '2'));
  const rows: Record<string, unknown>[] = [];
  const r1 = await train(`round1-${n}`, first, rs, { epochs, outDir });
  const s1 = await score(r1.out);
  rows.push({
    round: 1,
    curated: n,
    steps: r1.manifest.training.steps,
    train_s: r1.manifest.training.seconds,
    test_f1: s1.f1,
  });
  process.stdout.write(JSON.stringify(rows.at(-1)) + '\n');
  // Pre-annotate the next sentences (relations removed) with the round-1 adapter; curate by gold.
  const pre = await extractWith(
    r1.out,
    second.map((r) => ({ ...r, relations: [] })),
    rs,
  );
  const review = curateByGold(pre, new Map(second.map((r) => [r.id, r])));
  const r2 = await train(`round2-${2 * n}`, [...first, ...review.curated], rs, {
    epochs: 1,
    resumeFrom: r1.out,
    outDir,
  });
  const s2 = await score(r2.out);
  rows.push({
    round: 2,
    pre_annotated: n,
    accepted: review.accepted,
    predictions: review.predictions,
    curated: 2 * n,
    steps: r2.manifest.training.steps,
    train_s: r2.manifest.training.seconds,
    test_f1: s2.f1,
  });
  process.stdout.write(JSON.stringify(rows.at(-1)) + '\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
