/** The history of extraction and evaluation runs (per workspace), shown in the sidebar. */
import * as vscode from 'vscode';
import { ExtractResult } from '../protocol/engine';
import { Disposable } from './lifecycle';
import { EvalResult } from '../core/eval/types';

export interface RunEntry {
  at: string;
  file: string;
  kind: string;
  records: number;
  model: string;
  backend: string;
  /** The LoRA adapters applied (file names), the shipped default one marked. */
  adapters?: string;
  tokensPerSecond: number;
  elapsedMs: number;
  errors: number;
  relationSet: string;
  /** Metrics when the run was an evaluation. */
  metrics?: { precision: number; recall: number; f1: number; metric: string };
}

const KEY = 'relationLens.runs';
const MAX = 50;

export class RunHistory extends Disposable {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  constructor(private readonly state: vscode.Memento) {
    super();
  }

  get entries(): RunEntry[] {
    return this.state.get<RunEntry[]>(KEY, []);
  }

  /** Records an evaluation of a file against gold (its scores). */
  addEvaluation(file: string, records: number, relationSet: string, r: EvalResult): void {
    const metrics = { metric: r.metric, precision: r.precision, recall: r.recall, f1: r.f1 };
    this.add({ file, kind: 'evaluation', records, relationSet, metrics });
  }

  add(e: {
    file: string;
    kind: string;
    records: number;
    result?: ExtractResult;
    relationSet: string;
    metrics?: RunEntry['metrics'];
  }): void {
    const entry: RunEntry = {
      at: new Date().toISOString(),
      file: e.file,
      kind: e.kind,
      records: e.records,
      model: e.result?.engine.model ?? '',
      backend: e.result?.engine.backend ?? '',
      ...(e.result?.engine.adapters.length
        ? {
            adapters:
              e.result.engine.adapters.map((a) => a.path.split(/[\\/]/).pop()).join(', ') +
              (e.result.engine.defaultAdapter ? ' (shipped default)' : ''),
          }
        : {}),
      tokensPerSecond: e.result?.tokensPerSecond ?? 0,
      elapsedMs: e.result?.elapsedMs ?? 0,
      errors: e.result?.errors.length ?? 0,
      relationSet: e.relationSet,
      ...(e.metrics ? { metrics: e.metrics } : {}),
    };
    void this.state
      .update(KEY, [entry, ...this.entries].slice(0, MAX))
      .then(() => this.changed.fire());
  }
}
