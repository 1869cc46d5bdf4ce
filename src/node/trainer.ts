/**
 * The Python LoRA trainer (trainer/train_lora.py: torch + transformers + peft) as the CLI and the
 * extension use it: set up its virtual environment from the pinned requirements, run it, and read
 * its JSON-lines events. The venv lives outside the project (default
 * ~/.cache/relation-lens/trainer-venv; RELATION_LENS_TRAINER_VENV or --venv elsewhere).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { AbortError } from '../core/ports';

/** The folder holding train_lora.py and requirements.txt (next to src/ or dist/). */
export function trainerDir(): string {
  for (const d of [
    path.resolve(__dirname, '..', 'trainer'),
    path.resolve(__dirname, '..', '..', 'trainer'),
  ])
    if (existsSync(path.join(d, 'train_lora.py'))) return d;
  throw new Error(`the trainer (trainer/train_lora.py) is missing next to ${__dirname}`);
}

export function defaultVenv(): string {
  return (
    process.env['RELATION_LENS_TRAINER_VENV'] ||
    path.join(os.homedir(), '.cache', 'relation-lens', 'trainer-venv')
  );
}

export const venvPython = (venv: string): string =>
  process.platform === 'win32'
    ? path.join(venv, 'Scripts', 'python.exe')
    : path.join(venv, 'bin', 'python');
const STAMP = '.relation-lens-requirements.sha256';

export class TrainerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainerError';
  }
}

function run(
  cmd: string,
  args: string[],
  log: (line: string) => void,
  env?: NodeJS.ProcessEnv,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    const forward = (buf: Buffer) => {
      for (const l of buf.toString('utf8').split('\n')) if (l.trim()) log(l);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function requirementsHash(): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(path.join(trainerDir(), 'requirements.txt')))
    .digest('hex');
}

/** Whether the venv holds exactly the pinned requirements (what setup installed). */
export async function trainerReady(venv = defaultVenv()): Promise<boolean> {
  if (!existsSync(venvPython(venv))) return false;
  const stamp = await fs.readFile(path.join(venv, STAMP), 'utf8').catch(() => '');
  return stamp.trim() === (await requirementsHash());
}

/**
 * Creates the venv and installs the pinned requirements (PyPI's torch: CPU everywhere, CUDA when
 * the machine has it; ~6 minutes and ~5.6 GB on first setup). Does nothing when it is up to date.
 */
export async function setupTrainer(opts: {
  venv?: string;
  python?: string;
  log: (line: string) => void;
}): Promise<{ venv: string; installed: boolean }> {
  const venv = opts.venv ?? defaultVenv();
  if (await trainerReady(venv)) return { venv, installed: false };
  const python =
    opts.python ??
    process.env['RELATION_LENS_PYTHON'] ??
    (process.platform === 'win32' ? 'python' : 'python3');
  if (!existsSync(venvPython(venv))) {
    await fs.mkdir(path.dirname(venv), { recursive: true });
    opts.log(`creating ${venv} with ${python}`);
    const code = await run(python, ['-m', 'venv', venv], opts.log).catch((e: Error) => {
      throw new TrainerError(
        `cannot run ${python} (${e.message}); install Python ≥ 3.10 or pass --python`,
      );
    });
    if (code !== 0)
      throw new TrainerError(
        `${python} -m venv ${venv} failed (exit ${code}); on Debian/Ubuntu install python3-venv`,
      );
  }
  const req = path.join(trainerDir(), 'requirements.txt');
  opts.log(`installing ${req} into ${venv} (torch is large: several minutes on first setup)`);
  const code = await run(
    venvPython(venv),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', req],
    opts.log,
  );
  if (code !== 0)
    throw new TrainerError(`pip install -r ${req} failed (exit ${code}); see the lines above`);
  await fs.writeFile(path.join(venv, STAMP), (await requirementsHash()) + '\n');
  return { venv, installed: true };
}

const ProgressEvent = z
  .object({
    event: z.literal('progress'),
    step: z.number(),
    steps: z.number(),
    epoch: z.number(),
    loss: z.number(),
    loss_avg: z.number(),
    examples_per_s: z.number(),
    eta_s: z.number(),
  })
  .passthrough();
const DoneEvent = z
  .object({
    event: z.literal('done'),
    adapter: z.string().optional(),
    steps: z.number().optional(),
    examples_seen: z.number().optional(),
    seconds: z.number().optional(),
    stopped: z.boolean().optional(),
    loss_curve: z.array(z.tuple([z.number(), z.number()])).optional(),
    dev: z.object({ loss: z.number(), accuracy: z.number().optional() }).nullable().optional(),
    peak_rss_mb: z.number().optional(),
    device: z.string().optional(),
    peak_gpu_mb: z.number().optional(),
  })
  .passthrough();
const OtherEvent = z.object({ event: z.string() }).passthrough();
export type TrainerProgress = z.infer<typeof ProgressEvent>;
export type TrainerDone = z.infer<typeof DoneEvent>;
export type TrainerEvent = z.infer<typeof OtherEvent>;

export interface TrainerRun {
  venv?: string;
  /** Threads for torch (default: all cores; the extension passes fewer). */
  threads?: number;
  signal?: AbortSignal;
  onEvent?: (e: TrainerEvent) => void;
  onProgress?: (e: TrainerProgress) => void;
  onLog?: (line: string) => void;
}

/**
 * Reads the trainer's stdout, a JSON object per line: progress and other events go to the run's
 * callbacks, `done` is the result, `error` the message a failed run rejects with; lines that are
 * not JSON are the trainer's log.
 */
export class TrainerEventReader {
  private done: TrainerDone | undefined;
  private error: string | undefined;
  private last: TrainerEvent | undefined;

  constructor(private readonly opts: Pick<TrainerRun, 'onEvent' | 'onProgress' | 'onLog'>) {}

  line(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.opts.onLog?.(line);
      return;
    }
    const e = OtherEvent.safeParse(json);
    if (!e.success) return;
    this.last = e.data;
    if (e.data.event === 'error') this.error = String(e.data['message']);
    else if (e.data.event === 'done') this.done = DoneEvent.parse(json);
    else if (e.data.event === 'progress') {
      const p = ProgressEvent.safeParse(json);
      if (p.success) this.opts.onProgress?.(p.data);
    }
    this.opts.onEvent?.(e.data);
  }

  /** The run's `done` event; its `error` event or a non-zero exit throws (with the stderr tail). */
  result(code: number, stderrTail: string): TrainerDone {
    if (this.error) throw new TrainerError(this.error);
    if (code !== 0 || !this.done)
      throw new TrainerError(
        `the trainer exited with code ${code}${this.last ? ` after ${this.last.event}` : ''}${stderrTail ? `:\n${stderrTail}` : ''}`,
      );
    return this.done;
  }
}

/**
 * Runs `train_lora.py SUBCOMMAND ARGS` and resolves with its `done` event. Aborting the signal
 * asks the trainer to stop (SIGINT: it finishes the step, saves and exports what it has, and
 * reports `stopped: true`); its `error` events and a non-zero exit reject with its message.
 */
export async function runTrainer(
  subcommand: 'train' | 'score' | 'env' | 'fetch-base' | 'export',
  args: string[],
  opts: TrainerRun & {
    /** The trainer script (default train_lora.py; train_encoder.py for the document encoder). */
    script?: 'train_lora.py' | 'train_encoder.py';
  } = {},
): Promise<TrainerDone> {
  const venv = opts.venv ?? defaultVenv();
  if (!(await trainerReady(venv)))
    throw new TrainerError(
      `the trainer is not set up in ${venv}: run \`relation-lens trainer setup\` (installs torch, transformers and peft into that venv)`,
    );
  if (opts.signal?.aborted) throw new AbortError('training cancelled before it started');
  const threadArgs =
    opts.threads && subcommand !== 'env' && subcommand !== 'fetch-base' && subcommand !== 'export'
      ? ['--threads', String(opts.threads)]
      : [];
  const env = {
    ...process.env,
    OMP_WAIT_POLICY: 'PASSIVE',
    KMP_BLOCKTIME: '0',
    PYTHONUNBUFFERED: '1',
    ...(opts.threads ? { OMP_NUM_THREADS: String(opts.threads) } : {}),
  };
  const child = spawn(
    venvPython(venv),
    [path.join(trainerDir(), opts.script ?? 'train_lora.py'), subcommand, ...args, ...threadArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  const stderr: string[] = [];
  const events = new TrainerEventReader(opts);
  const onAbort = () => child.kill('SIGINT');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let pending = '';
  child.stdout.on('data', (buf: Buffer) => {
    pending += buf.toString('utf8');
    let i: number;
    while ((i = pending.indexOf('\n')) >= 0) {
      events.line(pending.slice(0, i));
      pending = pending.slice(i + 1);
    }
  });
  child.stderr.on('data', (buf: Buffer) => {
    for (const l of buf.toString('utf8').split('\n')) {
      if (!l.trim()) continue;
      stderr.push(l);
      if (stderr.length > 40) stderr.shift();
      opts.onLog?.(l);
    }
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 1)));
  }).finally(() => opts.signal?.removeEventListener('abort', onAbort));
  return events.result(code, stderr.slice(-12).join('\n'));
}
