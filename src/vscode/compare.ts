/**
 * Two runs on the same records, scored against what the curator settled: before/after a training
 * run (on the records held out of it) and the panel's A/B of two adapters. Each variant extracts
 * from the records with their relations removed, with its own adapters and everything else from
 * the settings; nothing is written to the file.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { chooseMetric, evaluateRecords } from '../core/eval';
import { EvalResult } from '../core/eval/types';
import { curatedReference, isSettled, withoutRelations } from '../core/training/heldOut';
import { Comparison, EvalView } from '../protocol/webview';
import { readSettings } from './config';
import { EngineService } from './engineService';
import { extractJobs, isDocumentLevel, run } from './extract';
import { recordLines } from './records';
import { relationSetFor, templateFor } from './resources';
import { RunHistory } from './runs';

export interface Variant {
  label: string;
  /** The adapters of this run ([] = the base model alone). */
  loras: Array<{ path: string; scale: number }>;
}

export interface CompareDeps {
  engine: EngineService;
  runs: RunHistory;
  log: vscode.LogOutputChannel;
}

/** The panel's view of a score (with `file`, the records behind its figures: clicks open them). */
export function toEvalView(title: string, result: EvalResult, file?: string): EvalView {
  const shown = result.confusion.labels.length <= 40;
  return {
    ...(file && result.members
      ? {
          file,
          members: {
            cells: shown ? result.members.cells : [],
            perRelation: result.members.perRelation,
          },
        }
      : {}),
    title,
    metric: result.metric,
    precision: result.precision,
    recall: result.recall,
    f1: result.f1,
    perRelation: Object.entries(result.per_relation).map(([label, s]) => ({
      label,
      precision: s.precision,
      recall: s.recall,
      f1: s.f1,
      gold: s.gold,
      predicted: s.predicted,
    })),
    confusion: shown ? { labels: result.confusion.labels, counts: result.confusion.matrix } : null,
  };
}

export const variantLabel = (loras: Variant['loras']): string =>
  loras.length
    ? loras
        .map((l) => `${path.basename(l.path)}${l.scale !== 1 ? ` × ${l.scale}` : ''}`)
        .join(' + ')
    : 'base model, no adapter';

/**
 * Runs both variants on the records of `doc` with these ids (default: every settled record) and
 * scores each against the curated relations. Undefined when a run was cancelled or failed (the
 * user was told).
 */
export async function compareOnRecords(
  d: CompareDeps,
  doc: vscode.TextDocument,
  o: { ids?: string[]; variants: [Variant, Variant]; title: string; note: string },
): Promise<Comparison | undefined> {
  const want = o.ids ? new Set(o.ids) : undefined;
  const records = [...recordLines(doc)]
    .map((l) => l.record)
    .filter((r) => (want ? want.has(r.id) : isSettled(r)));
  if (!records.length)
    throw new Error(
      want
        ? `none of the ${want.size} held-out record(s) is in ${path.basename(doc.uri.fsPath)} any more`
        : `${path.basename(doc.uri.fsPath)} has no settled records (gold, accepted or edited relations, nothing pending) to compare on`,
    );
  const s = readSettings();
  const rs = await relationSetFor(doc.uri, s, records);
  if (!rs) throw new Error('no relation set for this file (Relation Lens: Select Relation Set…)');
  const template = await templateFor(s, doc.uri);
  const input = withoutRelations(records);
  const reference = curatedReference(records);
  const metric = chooseMetric(rs.set, reference);
  const views: EvalView[] = [];
  for (const v of o.variants) {
    const result = await run(d.log, `${o.title}: ${v.label}`, (signal, progress) =>
      extractJobs(
        d.engine,
        {
          doc,
          sentLevel: input.filter((r) => !isDocumentLevel(r, s.method)),
          docLevel: input.filter((r) => isDocumentLevel(r, s.method)),
          rs: rs.set,
          template,
          loras: v.loras,
        },
        signal,
        progress,
      ),
    );
    if (!result || result.partial) return undefined;
    const scored = evaluateRecords(
      reference,
      result.items.map((i) => i.record),
      rs.set,
      metric,
    );
    d.runs.addEvaluation(`${doc.uri.fsPath} (${v.label})`, records.length, rs.from, scored);
    d.log.info(
      `${o.title}: ${v.label}: ${metric} F1 ${(100 * scored.f1).toFixed(2)} on ${records.length} record(s)`,
    );
    views.push(toEvalView(v.label, scored));
  }
  return {
    title: o.title,
    note: `${o.note} ${records.length} record(s) of ${path.basename(doc.uri.fsPath)}, scored against the curated relations (${metric}).`,
    a: views[0]!,
    b: views[1]!,
  };
}
