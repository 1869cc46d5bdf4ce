/**
 * llama.cpp's own llama-server, built from node-llama-cpp's llama.cpp source by
 * scripts/setup-llama-server.sh into .cache/llama-server (gitignored). A test that needs it skips
 * with a visible SKIP line when it is not built.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
export const LLAMA_SERVER = path.join(
  process.env['RELATION_LENS_LLAMA_SERVER_DIR'] ?? path.join(ROOT, '.cache', 'llama-server'),
  'bin',
  'llama-server',
);

export function llamaServerBin(ctx: Mocha.Context): string {
  if (!existsSync(LLAMA_SERVER)) {
    console.log(
      `    SKIP: llama-server is not built (${LLAMA_SERVER}; bash scripts/setup-llama-server.sh builds it)`,
    );
    ctx.skip();
  }
  return LLAMA_SERVER;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  /** The OpenAI-compatible base URL (…/v1). */
  url: string;
  port: number;
  proc: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/** Starts llama-server on 127.0.0.1 and waits until /health answers 200. */
export async function startLlamaServer(
  bin: string,
  model: string,
  opts: { parallel?: number; ctxPerSlot?: number; port?: number; args?: string[] } = {},
): Promise<RunningServer> {
  const parallel = opts.parallel ?? 4;
  const port = opts.port ?? (await freePort());
  const args = [
    '-m',
    model,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--parallel',
    String(parallel),
    '-c',
    String((opts.ctxPerSlot ?? 2048) * parallel),
    '-t',
    '2',
    '--no-webui',
    ...(opts.args ?? []),
  ];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer) => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}/v1`;
  const end = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`llama-server exited (${proc.exitCode}): ${log.slice(-2000)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`llama-server did not become ready in 120 s: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    proc,
    log: () => log,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
