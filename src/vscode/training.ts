/**
 * "Train LoRA Adapter from This File…": the curated records of the open file → train-lora's job
 * in the engine process (progress with loss, examples/s and time left; cancel keeps the adapter
 * trained so far) → offer to use the adapter. The trainer's venv lives in the extension's global
 * storage ($RELATION_LENS_TRAINER_VENV overrides) and is set up on first use, after asking.
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { trainerReady, setupTrainer } from '../node/trainer';
import { readSettings, update } from './config';
import type { Services } from './commands';
import { isRecordDocument } from './records';
import { relationSetFor, templateFor } from './resources';

const PRESETS = [
  {
    label: 'Quick',
    description: 'top 10 blocks, 2 epochs, at most 2,000 pairs — minutes on a laptop CPU',
    hyper: { epochs: 2, layers: 'top-10', maxExamples: 2000 },
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

export function registerTrainingCommands(s: Services): void {
  const { context, log, engine } = s;
  context.subscriptions.push(
    vscode.commands.registerCommand('relationLens.trainLora', async () => {
      const doc = vscode.window.activeTextEditor?.document;
      if (!doc || !isRecordDocument(doc) || doc.uri.scheme !== 'file')
        return void vscode.window.showWarningMessage(
          'Relation Lens: open a JSONL file of curated records (gold, accepted or edited relations) first.',
        );
      if (doc.isDirty && !(await doc.save())) return;
      const settings = readSettings();
      const rs = await relationSetFor(doc.uri, settings, []);
      if (!rs)
        return void vscode.window.showWarningMessage(
          'Relation Lens: choose a relation set first (Relation Lens: Select Relation Set…).',
        );
      const preset = await vscode.window.showQuickPick(PRESETS, {
        title: 'Relation Lens: train a LoRA adapter on this file',
      });
      if (!preset) return;
      const target = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(doc.uri.fsPath.replace(/\.jsonl$/i, '') + '.lora.gguf'),
        filters: { 'LoRA adapter': ['gguf'] },
        title: 'Save the adapter as',
      });
      if (!target) return;
      const out = /\.gguf$/i.test(target.fsPath) ? target.fsPath : `${target.fsPath}.gguf`;
      let force = false;
      if (existsSync(out)) {
        if (
          (await vscode.window.showWarningMessage(
            `Relation Lens: ${path.basename(out)} exists. Replace it and its manifest?`,
            { modal: true },
            'Replace',
          )) !== 'Replace'
        )
          return;
        force = true;
      }
      const venv = await ensureTrainer(context, log);
      if (!venv) return;
      const template = await templateFor(settings, doc.uri);
      const answers = settings.answers === 'names' ? 'names' : 'codes';
      const r = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `Relation Lens: training ${path.basename(out)}`,
          cancellable: true,
        },
        (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          let last = 0;
          return engine.client.request(
            'trainLora',
            {
              train: doc.uri.fsPath,
              engine: engine.engineSettings(doc.uri),
              relationSet: rs.set,
              template,
              answers,
              hyper: {
                epochs: preset.hyper.epochs,
                rank: 16,
                alpha: 32,
                layers: preset.hyper.layers,
                lr: 3e-4,
                batchSize: 8,
                ...(preset.hyper.maxExamples ? { maxExamples: preset.hyper.maxExamples } : {}),
                seed: 0,
              },
              out,
              force,
              venv,
              // Leave a core to the editor.
              threads: Math.max(1, os.availableParallelism() - 1),
            },
            {
              signal: controller.signal,
              onProgress: (p) => {
                const pct = p.total ? (100 * p.done) / p.total : 0;
                progress.report({
                  increment: pct - last,
                  message: `step ${p.done}/${p.total}: ${p.message ?? ''}`,
                });
                last = pct;
              },
            },
          );
        },
      );
      log.info(
        `trained ${r.adapter}: ${r.examples} example(s), ${r.steps} step(s) in ${r.seconds.toFixed(0)} s, loss ${r.lossFirst ?? '?'} → ${r.lossLast ?? '?'}${r.stopped ? ' (stopped early)' : ''}`,
      );
      const pick = await vscode.window.showInformationMessage(
        `Relation Lens: ${r.stopped ? 'training stopped; the adapter trained so far was saved' : 'adapter trained'} (${r.examples} example(s), ${r.steps} step(s), answer loss ${r.lossFirst ?? '?'} → ${r.lossLast ?? '?'}). Extract with it?`,
        'Use This Adapter',
        'Open Manifest',
      );
      if (pick === 'Use This Adapter') {
        await update('loras', [{ path: r.adapter, scale: 1 }]);
        if (settings.answers !== answers) await update('answers', answers);
        engine.render();
      } else if (pick === 'Open Manifest')
        await vscode.window.showTextDocument(vscode.Uri.file(r.manifest));
    }),
  );
}
