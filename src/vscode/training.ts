/**
 * "Train LoRA Adapter from This File…": the curated records of the open file → train-lora's job
 * in the engine process (progress with loss, examples/s and time left; cancel keeps the adapter
 * trained so far) → offer to use the adapter and to compare before/after on the records held
 * out of training (a fixed 10 % of the settled records, at most 50, when there are 20 or more).
 * The trainer's venv lives in the extension's global storage ($RELATION_LENS_TRAINER_VENV
 * overrides) and is set up on first use, after asking.
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { trainerReady, setupTrainer } from '../node/trainer';
import { readSettings, update } from './config';
import type { Services } from './commands';
import { isRecordDocument, recordLines } from './records';
import { holdOutIds } from '../core/training/heldOut';
import { Variant, compareOnRecords, variantLabel } from './compare';
import { documentTemplate, isDocumentLevel } from './extract';
import { RelationLensPanel } from './panel';
import { relationSetFor, templateFor } from './resources';
import { EngineRequest, TrainLoraResult } from '../protocol/engine';
import { EngineService } from './engineService';

const PRESETS = [
  {
    label: 'Quick',
    description:
      'top 10 blocks on a CPU (every block on a GPU), 2 epochs, at most 2,000 pairs — minutes on a laptop CPU',
    hyper: { epochs: 2, layers: 'auto', maxExamples: 2000 },
  },
  {
    label: 'Thorough',
    description: 'every block, 3 epochs, every pair — for a GPU or a long run',
    hyper: { epochs: 3, layers: 'all', maxExamples: undefined },
  },
];

function trainerVenv(context: vscode.ExtensionContext): string {
  return (
    process.env['RELATION_LENS_TRAINER_VENV'] ||
    path.join(context.globalStorageUri.fsPath, 'trainer-venv')
  );
}

async function ensureTrainer(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): Promise<string | undefined> {
  const venv = trainerVenv(context);
  if (await trainerReady(venv)) return venv;
  const go = await vscode.window.showInformationMessage(
    'Relation Lens: the LoRA trainer (Python: torch, transformers, peft — about 5.6 GB) is not set up yet. Set it up now?',
    { modal: true },
    'Set Up Trainer',
  );
  if (go !== 'Set Up Trainer') return undefined;
  await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: 'Relation Lens: setting up the LoRA trainer (several minutes)',
    },
    async (progress) =>
      setupTrainer({
        venv,
        log: (l) => {
          log.info(`trainer setup: ${l}`);
          progress.report({ message: l.slice(0, 80) });
        },
      }),
  );
  return venv;
}

/** Where the adapter goes: asked with a save dialog; an existing file only when the user says Replace. */
async function adapterTarget(
  doc: vscode.TextDocument,
): Promise<{ out: string; force: boolean } | undefined> {
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(doc.uri.fsPath.replace(/\.jsonl$/i, '') + '.lora.gguf'),
    filters: { 'LoRA adapter': ['gguf'] },
    title: 'Save the adapter as',
  });
  if (!target) return undefined;
  const out = /\.gguf$/i.test(target.fsPath) ? target.fsPath : `${target.fsPath}.gguf`;
  if (!existsSync(out)) return { out, force: false };
  const answer = await vscode.window.showWarningMessage(
    `Relation Lens: ${path.basename(out)} exists. Replace it and its manifest?`,
    { modal: true },
    'Replace',
  );
  return answer === 'Replace' ? { out, force: true } : undefined;
}

/** The engine process's trainLora request, with progress (step, loss) and cancel (keeps the last checkpoint). */
function runTraining(
  engine: EngineService,
  params: Extract<EngineRequest, { method: 'trainLora' }>['params'],
): Thenable<TrainLoraResult> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Relation Lens: training ${path.basename(params.out)}`,
      cancellable: true,
    },
    (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      let last = 0;
      return engine.client.request('trainLora', params, {
        signal: controller.signal,
        onProgress: (p) => {
          const pct = p.total ? (100 * p.done) / p.total : 0;
          progress.report({
            increment: pct - last,
            message: `step ${p.done}/${p.total}: ${p.message ?? ''}`,
          });
          last = pct;
        },
      });
    },
  );
}

/** After training: the result in the log, and the offer to use the adapter, compare before/after or read its manifest. */
async function offerAdapter(
  s: Services,
  r: TrainLoraResult,
  after: { doc: vscode.TextDocument; answers: 'names' | 'codes'; before: Variant['loras'] },
): Promise<void> {
  await s.adapters.add(r.adapter);
  void RelationLensPanel.current?.pushState();
  s.log.info(
    `trained ${r.adapter}: ${r.examples} example(s), ${r.steps} step(s) in ${r.seconds.toFixed(0)} s, loss ${r.lossFirst ?? '?'} → ${r.lossLast ?? '?'}${r.stopped ? ' (stopped early)' : ''}; ${r.heldOut.length} record(s) held out`,
  );
  const compare = r.heldOut.length ? ['Compare Before/After'] : [];
  const pick = await vscode.window.showInformationMessage(
    `Relation Lens: ${r.stopped ? 'training stopped; the adapter trained so far was saved' : 'adapter trained'} (${r.examples} example(s), ${r.steps} step(s), answer loss ${r.lossFirst ?? '?'} → ${r.lossLast ?? '?'}${r.devAccuracy !== undefined ? `, ${(100 * r.devAccuracy).toFixed(0)}% right on ${r.heldOut.length} held-out record(s)` : ''}). Extract with it?`,
    'Use This Adapter',
    ...compare,
    'Open Manifest',
  );
  if (pick === 'Use This Adapter') await useAdapter(s, r.adapter, after.answers);
  else if (pick === 'Open Manifest')
    await vscode.window.showTextDocument(vscode.Uri.file(r.manifest));
  else if (pick === 'Compare Before/After') await compareBeforeAfter(s, r, after);
}

async function useAdapter(s: Services, adapter: string, answers: 'names' | 'codes'): Promise<void> {
  await update('loras', [{ path: adapter, scale: 1 }]);
  if (readSettings().answers !== answers) await update('answers', answers);
  s.engine.render();
}

/**
 * The held-out records extracted with the adapters used before training and with the new one,
 * scored against the curated relations and shown side by side in the panel.
 */
async function compareBeforeAfter(
  s: Services,
  r: TrainLoraResult,
  after: { doc: vscode.TextDocument; answers: 'names' | 'codes'; before: Variant['loras'] },
): Promise<void> {
  const now = [{ path: r.adapter, scale: 1 }];
  let c;
  try {
    c = await compareOnRecords(s, after.doc, {
      ids: r.heldOut,
      variants: [
        { label: `before: ${variantLabel(after.before)}`, loras: after.before },
        { label: `after: ${variantLabel(now)}`, loras: now },
      ],
      title: 'Before/after training',
      note: 'On the records held out of training:',
    });
  } catch (e) {
    return void vscode.window.showErrorMessage(`Relation Lens: ${(e as Error).message}`);
  }
  if (!c) return;
  RelationLensPanel.showComparison(s, c);
  const pct = (x: number) => (100 * x).toFixed(1);
  const pick = await vscode.window.showInformationMessage(
    `Relation Lens: F1 on ${r.heldOut.length} held-out record(s): before ${pct(c.a.f1)}, after ${pct(c.b.f1)}.`,
    'Use This Adapter',
  );
  if (pick) await useAdapter(s, r.adapter, after.answers);
}

/** relationLens.trainLora: a LoRA adapter from the open file's curated records. */
async function trainLoraFromFile(s: Services): Promise<void> {
  const { context, log, engine } = s;
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc || !isRecordDocument(doc) || doc.uri.scheme !== 'file')
    return void vscode.window.showWarningMessage(
      'Relation Lens: open a JSONL file of curated records (gold, accepted or edited relations) first.',
    );
  if (doc.isDirty && !(await doc.save())) return;
  const settings = readSettings();
  const records = [...recordLines(doc)].map((l) => l.record);
  const rs = await relationSetFor(doc.uri, settings, records);
  if (!rs)
    return void vscode.window.showWarningMessage(
      'Relation Lens: choose a relation set first (Relation Lens: Select Relation Set…).',
    );
  const preset = await vscode.window.showQuickPick(PRESETS, {
    title: 'Relation Lens: train a LoRA adapter on this file',
  });
  if (!preset) return;
  const target = await adapterTarget(doc);
  if (!target) return;
  const venv = await ensureTrainer(context, log);
  if (!venv) return;
  const template = await templateFor(settings, doc.uri);
  const answers = settings.answers === 'names' ? 'names' : 'codes';
  const holdOut = holdOutIds(records, { max: 50 });
  // Document files (LMRC) train on the document prompts extraction sends them.
  const docLevel =
    records.filter((r) => isDocumentLevel(r, settings.method)).length > records.length / 2;
  const before = engine.engineSettings(doc.uri).loras;
  const h = preset.hyper;
  const r = await runTraining(engine, {
    train: doc.uri.fsPath,
    engine: engine.engineSettings(doc.uri),
    relationSet: rs.set,
    template,
    answers,
    hyper: {
      epochs: h.epochs,
      rank: 16,
      alpha: 32,
      layers: h.layers,
      lr: 3e-4,
      batchSize: 8,
      ...(h.maxExamples ? { maxExamples: h.maxExamples } : {}),
      seed: 0,
    },
    out: target.out,
    force: target.force,
    venv,
    // Leave a core to the editor.
    threads: Math.max(1, os.availableParallelism() - 1),
    holdOut,
    ...(docLevel
      ? {
          document: {
            template: documentTemplate(settings.documentTemplate, doc.uri),
            k: settings.documentK,
          },
        }
      : {}),
  });
  await offerAdapter(s, r, { doc, answers, before });
}

export function registerTrainingCommands(s: Services): void {
  s.context.subscriptions.push(
    vscode.commands.registerCommand('relationLens.trainLora', () => trainLoraFromFile(s)),
  );
}
