/**
 * The fine-tuning bench's GPU rows: the same train-lora job, with its trainer run on a lent GPU
 * machine instead of here. That machine has Python with torch and CUDA but no Node, so the job is
 * cut in two where it hands the trainer its files:
 *
 * 1. `--gpu-prepare DIR`: the job selects, renders and tokenizes here (the prompts extraction
 *    sends), then, instead of starting the trainer, writes DIR/NAME/ — the data (gzip) and
 *    `train.sh`, the trainer's command line with the job's own arguments — and stops.
 * 2. On the GPU machine: `MODEL=BASE.gguf RESULT=OUT sh DIR/NAME/train.sh` runs
 *    trainer/train_lora.py there (its stdout, the JSON events, to OUT/NAME.events.jsonl; the
 *    adapter to OUT/NAME.gguf). Copy OUT's files back into DIR.
 * 3. `--gpu-result DIR`: the job renders the data again, checks it is byte for byte what was
 *    prepared (sha256), reads the trainer's events as if it had run here, takes the adapter and
 *    writes the manifest; the bench then scores the adapter here, like any other.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256File as sha256 } from '../src/engine/models';
import { TrainerDone, TrainerEventReader, TrainerRun } from '../src/node/trainer';

type Trainer = (args: string[], run: TrainerRun) => Promise<TrainerDone>;

/** Thrown once the data is prepared: the bench stops there. */
export class Prepared extends Error {
  constructor(readonly dir: string) {
    super(`prepared for a GPU machine: ${dir}`);
  }
}

const FILE_ARGS = new Set(['--data', '--dev']);

/** The trainer's data files among its arguments, with their names in the prepared folder. */
function dataFiles(args: string[]): Array<{ flag: string; file: string; name: string }> {
  const out: Array<{ flag: string; file: string; name: string }> = [];
  for (let i = 0; i < args.length; i++)
    if (FILE_ARGS.has(args[i]!)) out.push({ flag: args[i]!, file: args[++i]!, name: '' });
  for (const f of out) f.name = path.basename(f.file);
  return out;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Step 1: write the data and train.sh into DIR/NAME, then stop the job. */
export function prepareTrainer(dir: string, name: string): Trainer {
  return async (args) => {
    const d = path.join(dir, name);
    await fs.mkdir(d, { recursive: true });
    const files = dataFiles(args);
    const sums: Record<string, string> = {};
    for (const f of files) {
      await fs.writeFile(path.join(d, f.name + '.gz'), gzipSync(await fs.readFile(f.file)));
      sums[f.name] = await sha256(f.file);
    }
    const shell: string[] = [];
    const paths: Record<string, string> = {
      '--base': '"$MODEL"',
      '--export': `"$RESULT/${name}.gguf"`,
    };
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const value = FILE_ARGS.has(a) ? `"$DIR/${path.basename(args[i + 1]!)}"` : paths[a];
      if (value === undefined) shell.push(quote(a));
      else {
        shell.push(a, value);
        i++;
      }
    }
    const script = [
      '#!/bin/sh',
      `# ${name}: the train-lora job's trainer, prepared by bench/lora.ts --gpu-prepare.`,
      '# Usage (from the repository root): MODEL=BASE.gguf RESULT=OUT_DIR sh THIS_FILE',
      'set -e',
      'DIR=$(dirname "$0")',
      'for f in "$DIR"/*.gz; do gunzip -c "$f" > "${f%.gz}"; done',
      `python3 trainer/train_lora.py train ${shell.join(' ')} > "$RESULT/${name}.events.jsonl" 2> "$RESULT/${name}.log"`,
      '',
    ].join('\n');
    await fs.writeFile(path.join(d, 'train.sh'), script);
    await fs.writeFile(path.join(d, 'data.json'), JSON.stringify(sums, null, 2) + '\n');
    throw new Prepared(d);
  };
}

/** Step 3: the same data as prepared, the trainer's events read back, its adapter taken. */
export function resultTrainer(dir: string, name: string): Trainer {
  return async (args, run) => {
    const sums = JSON.parse(await fs.readFile(path.join(dir, name, 'data.json'), 'utf8')) as Record<
      string,
      string
    >;
    for (const f of dataFiles(args))
      if (sums[f.name] !== (await sha256(f.file)))
        throw new Error(
          `${f.name}: the data rendered now differs from the data prepared in ${dir}/${name}`,
        );
    const reader = new TrainerEventReader(run);
    const events = await fs.readFile(path.join(dir, `${name}.events.jsonl`), 'utf8');
    for (const line of events.split('\n')) reader.line(line);
    const log = await fs.readFile(path.join(dir, `${name}.log`), 'utf8').catch(() => '');
    const done = reader.result(0, log.split('\n').slice(-12).join('\n'));
    const i = args.indexOf('--export');
    await fs.copyFile(path.join(dir, `${name}.gguf`), args[i + 1]!);
    return done;
  };
}
