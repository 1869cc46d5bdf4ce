/**
 * The record view's webview bundle in a plain Chromium page, for the virtualised-list test and
 * the record-view bench: the page gets the view's CSS, a stand-in for VS Code's webview API and
 * dist/webview/recordView.js (`npm run build`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';

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
