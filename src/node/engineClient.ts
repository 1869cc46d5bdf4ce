/**
 * The extension's side of the engine process: forks dist/engineHost.js, sends typed requests
 * with ids, validates every answer, streams progress, cancels, and notices when the process
 * dies (every pending request then fails with EngineCrashedError; `start()` forks a new one).
 */
import { ChildProcess, fork } from 'node:child_process';
import {
  EngineMethod,
  EngineRequest,
  EngineResponse,
  EngineResult,
  Progress,
  RESULT_SCHEMAS,
  ResponseSchema,
} from '../protocol/engine';

export class EngineCrashedError extends Error {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(
      `the Relation Lens engine process stopped (${signal ? `signal ${signal}` : `exit code ${code}`}); its work was lost, the results written so far are kept`,
    );
    this.name = 'EngineCrashedError';
  }
}

export class EngineRequestError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

type Params<M extends EngineRequest['method']> = Extract<EngineRequest, { method: M }>['params'];
type ResultOf<M extends EngineMethod> = EngineResult<M>;

interface Pending {
  method: EngineMethod;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: Progress) => void;
}

export interface EngineClientOptions {
  hostPath: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Called when the process stops without being asked to. */
  onCrash?: (err: EngineCrashedError) => void;
}

export class EngineClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stopping = false;

  constructor(private readonly opts: EngineClientOptions) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Forks the engine process (no-op when it runs). */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    // Inside VS Code process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node.
    const child = fork(this.opts.hostPath, [], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.opts.log?.('info', d.toString().trimEnd()));
    child.stderr?.on('data', (d: Buffer) => this.opts.log?.('warn', d.toString().trimEnd()));
    child.on('message', (m) => this.onMessage(m));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const err = new EngineCrashedError(code, signal);
      const wasPending = this.pending.size > 0;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.stopping) {
        this.opts.log?.('error', err.message);
        if (wasPending || code !== 0) this.opts.onCrash?.(err);
      }
    });
  }

  private onMessage(raw: unknown): void {
    const parsed = ResponseSchema.safeParse(raw);
    if (!parsed.success)
      return void this.opts.log?.(
        'error',
        `engine sent an invalid message: ${JSON.stringify(raw).slice(0, 200)}`,
      );
    const m: EngineResponse = parsed.data;
    if ('log' in m) return void this.opts.log?.(m.log.level, m.log.message);
    const p = this.pending.get(m.id);
    if (!p) return;
    if ('progress' in m) return void p.onProgress?.(m.progress);
    this.pending.delete(m.id);
    if (!m.ok) return void p.reject(new EngineRequestError(m.error.name, m.error.message));
    const r = RESULT_SCHEMAS[p.method].safeParse(m.result);
    if (r.success) p.resolve(r.data);
    else
      p.reject(
        new EngineRequestError(
          'ProtocolError',
          `the engine's ${p.method} result is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        ),
      );
  }

  /** Sends a request; `signal` cancels it in the engine (the promise then rejects with its AbortError). */
  request<M extends EngineRequest['method']>(
    method: M,
    params: Params<M>,
    opts: { onProgress?: (p: Progress) => void; signal?: AbortSignal } = {},
  ): Promise<ResultOf<M>> {
    this.start();
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const onAbort = () => {
        if (this.pending.has(id) && this.running)
          this.child!.send({ id: this.nextId++, method: 'cancel', params: { target: id } });
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => opts.signal?.removeEventListener('abort', onAbort);
      const p: Pending = {
        method,
        resolve: (v) => (done(), resolve(v as ResultOf<M>)),
        reject: (e) => (done(), reject(e)),
        onProgress: opts.onProgress,
      };
      this.pending.set(id, p);
      this.child!.send({ id, method, params } as EngineRequest, (err) => {
        if (err && this.pending.delete(id)) p.reject(err);
      });
    });
  }

  /** Stops the process (pending requests fail). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }
}
