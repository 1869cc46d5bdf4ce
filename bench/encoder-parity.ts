/**
 * The shipped (or any) encoder's ONNX graphs in Node against its PyTorch checkpoint on the
 * documents train-encoder held out: the largest and mean difference of the pair scores (best
 * relation logit minus threshold logit), and how often the keep decision at the manifest's
 * threshold differs. Needs the folder's model.pt (train-encoder --keep-torch) and the trainer venv.
 *
 *   npx tsx bench/encoder-parity.ts [--encoder models/redocred-filter] [--gold ../shared/datasets/redocred/dev_revised.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { serializeRecord } from '../src/core/formats/canonical';
import { candidatePairs } from '../src/core/schema';
import { margin } from '../src/core/pipelines/docEncoder';
import { openDocumentEncoder } from '../src/engine/docEncoder';
import { loadRecords } from '../src/node/load';
import { heldOutSplit } from '../src/node/trainEncoder';
import { defaultVenv, venvPython } from '../src/node/trainer';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : def;
};

async function main(): Promise<void> {
  const dir = arg('--encoder', 'models/redocred-filter');
  const gold = arg('--gold', '../shared/datasets/redocred/dev_revised.json');
  const venv = arg('--venv', process.env['RELATION_LENS_TRAINER_VENV'] ?? defaultVenv());
  const encoder = await openDocumentEncoder(dir);
  const m = encoder.manifest;
  const recs = (
    await loadRecords(gold, { relInfo: path.join(path.dirname(gold), 'rel_info.json') })
  ).records.filter((r) => r.entities.length >= 2);
  const { held } = heldOutSplit(recs, 0.1, 13);
  if (m?.heldOut && held.length !== m.heldOut.documents)
    throw new Error(
      `${held.length} held-out documents here, the manifest says ${m.heldOut.documents}`,
    );
  const tmp = mkdtempSync(path.join(tmpdir(), 'rl-parity-'));
  try {
    const data = path.join(tmp, 'held.jsonl');
    writeFileSync(data, held.map((r) => serializeRecord(r) + '\n').join(''));
    const out = path.join(tmp, 'scores.json');
    const t0 = Date.now();
    const py = spawnSync(
      venvPython(venv),
      [
        path.join('trainer', 'train_encoder.py'),
        'score',
        '--model',
        dir,
        '--data',
        data,
        '--out',
        out,
      ],
      { encoding: 'utf8' },
    );
    if (py.status !== 0) throw new Error(py.stderr + py.stdout);
    const pyMs = Date.now() - t0;
    const ref = (
      JSON.parse(readFileSync(out, 'utf8')) as {
        documents: Array<{ id: string; ids: number[]; scores: number[] }>;
      }
    ).documents;
    const th = m?.threshold ?? 0.5;
    const logit = Math.log(th / (1 - th));
    let worst = 0;
    let sum = 0;
    let n = 0;
    let flips = 0;
    let idsDiffer = 0;
    const t1 = Date.now();
    for (const d of ref) {
      const r = held.find((x) => x.id === d.id)!;
      if (encoder.tokenize(r.text).ids.join() !== d.ids.join()) idsDiffer++;
      (await encoder.pairLogits(r, candidatePairs(r))).forEach((l, i) => {
        const s = margin(l!);
        const diff = Math.abs(s - d.scores[i]!);
        worst = Math.max(worst, diff);
        sum += diff;
        n++;
        if (s >= logit !== d.scores[i]! >= logit) flips++;
      });
    }
    const nodeMs = Date.now() - t1;
    console.log(
      JSON.stringify(
        {
          encoder: dir,
          quantized: encoder.config.quantized,
          documents: ref.length,
          pairs: n,
          word_pieces_differ: idsDiffer,
          largest_score_difference: +worst.toFixed(4),
          mean_score_difference: +(sum / n).toFixed(4),
          keep_decisions_differ: flips,
          threshold: th,
          node_ms_per_document: +(nodeMs / ref.length).toFixed(1),
          pytorch_ms_per_document_with_startup: +(pyMs / ref.length).toFixed(1),
        },
        null,
        1,
      ),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

void main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
