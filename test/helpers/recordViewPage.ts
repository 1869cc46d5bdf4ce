/**
 * The record view's webview bundle in a plain Chromium page, for the virtualised-list test and
 * the record-view bench: the page gets the view's CSS, a stand-in for VS Code's webview API and
 * dist/webview/recordView.js (`npm run build`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { RECORD_VIEW_KEYS_WHEN } from '../../src/protocol/recordView';

const ROOT = path.resolve(__dirname, '..', '..');
export const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
export const RECORD_VIEW_BUNDLE = path.join(ROOT, 'dist', 'webview', 'recordView.js');

/** Loads the view into `page`; it then waits for the host's messages (window.postMessage). */
export async function loadRecordView(page: Page): Promise<void> {
  const css = readFileSync(path.join(ROOT, 'webview', 'recordView.css'), 'utf8');
  await page.setContent(
    `<!DOCTYPE html><html><head><style>${css}</style></head><body><div id="app"></div></body></html>`,
  );
  // tsx keeps function names with a helper the page does not have (functions passed to evaluate).
  await page.evaluate('globalThis.__name = (f) => f');
  await page.evaluate(
    'globalThis.acquireVsCodeApi = () => ({ postMessage() {}, getState() {}, setState() {} })',
  );
  await page.addScriptTag({ content: readFileSync(RECORD_VIEW_BUNDLE, 'utf8') });
  // VS Code's part: a key pressed in the view runs the command package.json binds to it, and the
  // host sends the view that action (src/vscode/recordView.ts).
  await page.evaluate(
    `(() => {
      const keys = ${JSON.stringify(recordViewKeys())};
      window.addEventListener('keydown', (e) => {
        if (e.target instanceof HTMLElement && e.target.closest('vscode-single-select, input, textarea')) return;
        const action = keys[(e.shiftKey ? 'shift+' : '') + e.key.toLowerCase()];
        if (action) window.postMessage({ type: 'action', action }, '*');
      });
    })()`,
  );
}

/** package.json's record-view keybindings as `[shift+]KeyboardEvent.key` (lower case) → action. */
function recordViewKeys(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { keybindings: Array<{ command: string; key: string; when?: string }> };
  };
  const names: Record<string, string> = {
    up: 'arrowup',
    down: 'arrowdown',
    left: 'arrowleft',
    right: 'arrowright',
  };
  const out: Record<string, string> = {};
  for (const b of pkg.contributes.keybindings) {
    if (b.when !== RECORD_VIEW_KEYS_WHEN) continue;
    const parts = b.key.split('+');
    const key = parts.pop()!;
    out[(parts.includes('shift') ? 'shift+' : '') + (names[key] ?? key)] = b.command.replace(
      'relationLens.recordView.',
      '',
    );
  }
  return out;
}

/** Resolves when the view has taken in all `n` records: its progress label counts them. */
export async function allTakenIn(page: Page, n: number, timeout = 30_000): Promise<void> {
  await page.waitForFunction(
    (n) =>
      (
        globalThis as unknown as {
          document: { querySelector(s: string): { textContent: string } | null };
        }
      ).document
        .querySelector('#progress .label')
        ?.textContent.includes(` / ${n} reviewed`),
    n,
    { timeout },
  );
}

/**
 * Sets one of the view's filters (`f-status`, `f-label`, `f-source`) as the curator does, a change
 * event on its select; resolves with the time the view's change handler took (ms, page clock).
 */
export async function setFilter(page: Page, id: string, value: string): Promise<number> {
  return page.evaluate(
    ([id, value]) => {
      const g = globalThis as unknown as {
        document: {
          getElementById(id: string): { value: string; dispatchEvent(e: unknown): void };
        };
        Event: new (type: string) => unknown;
        performance: { now(): number };
      };
      const el = g.document.getElementById(id);
      el.value = value;
      const t0 = g.performance.now();
      el.dispatchEvent(new g.Event('change'));
      return g.performance.now() - t0;
    },
    [id, value] as const,
  );
}
