/**
 * The record view on a 50,000-record file, in Chromium (the browser engine VS Code's webviews
 * run in): the real webview bundle (dist/webview/recordView.js, `npm run build` first) is loaded
 * into a page with a stand-in for VS Code's webview API and gets the file's records the way the
 * host sends them (one message, every record's view). It prints
 *  - open: the host's messages (a small first page, then larger ones, as src/vscode/recordView.ts
 *    sends them), the time until the first records are on screen and the view's own work per
 *    message (receiving and validating it, ordering, the first chunks);
 *  - scroll: the page scrolled down by 700 px per frame (back to the top at the end of the list,
 *    which takes 10,700 frames for 50,000 records: --frames 600 covers the first 420,000 px), the
 *    view's own work per frame (rendering chunks as they come near, dropping those far away) —
 *    its mean, 95th percentile and maximum, and the frames that showed blank list (a spacer in
 *    the viewport, or no record): records must be on screen when the frame is drawn. Target
 *    ≤ 16 ms per frame, no blank frame.
 * The records are the SemEval-2010 Task 8 training sentences with a model prediction each,
 * repeated under new ids to the size asked for.
 *
 *   npx tsx bench/recordView.ts [--records 50000] [--frames 600]
 * RECORD_VIEW_DEBUG=1 also prints the 8 slowest pieces of work while scrolling.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { recordView, viewPages } from '../src/core/editor/recordView';
import { RelRecord } from '../src/core/schema';
import { loadRecords } from '../src/node/load';
import {
  CHROMIUM,
  RECORD_VIEW_BUNDLE,
  allTakenIn,
  loadRecordView,
} from '../test/helpers/recordViewPage';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '50000' },
    frames: { type: 'string', default: '600' },
  },
});
const N = Number(values.records);
const FRAMES = Number(values.frames);

type Work = Array<{ what: string; at: number; ms: number }>;

function withPrediction(r: RelRecord, i: number): RelRecord {
  const [a, b] = r.entities;
  return {
    ...r,
    id: `${r.id}~${i}`,
    relations: [
      ...r.relations,
      ...(a && b
        ? [
            {
              head: a.id,
              tail: b.id,
              label: 'Cause-Effect',
              source: 'model' as const,
              score: (i % 100) / 100,
              status: 'pending' as const,
            },
          ]
        : []),
    ],
  };
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  if (!existsSync(RECORD_VIEW_BUNDLE))
    throw new Error(`${RECORD_VIEW_BUNDLE} is missing: npm run build`);
  const train = await loadRecords(
    path.join(ROOT, '..', 'shared', 'datasets', 'semeval2010_task8', 'TRAIN_FILE.TXT'),
  );
  const t0 = performance.now();
  const items = Array.from({ length: N }, (_, i) => {
    const r = withPrediction(train.records[i % train.records.length]!, i);
    return { line: i, view: recordView(r, 'Other') };
  });
  const hostMs = performance.now() - t0;
  const message = {
    type: 'records',
    file: 'train.jsonl',
    reset: true,
    items,
    invalid: [],
    labels: [],
  };
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await loadRecordView(page);
    // The host's messages (viewPages: a small first page, then larger ones), set aside in the page
    // first: handing them over is the benchmark's cost, not the view's.
    const pages = viewPages(items).map((p, i) => ({ ...message, reset: i === 0, items: p }));
    await page.evaluate((m) => {
      (globalThis as unknown as Record<string, unknown>)['pendingPages'] = m;
    }, pages);
    const open = await page.evaluate(async () => {
      const g = globalThis as unknown as {
        pendingPages: unknown[];
        postMessage(m: unknown, o: string): void;
        requestAnimationFrame(f: () => void): void;
        setTimeout(f: () => void, ms: number): void;
        document: { querySelectorAll(s: string): ArrayLike<unknown> };
        performance: { now(): number };
      };
      const frame = () => new Promise<void>((r) => g.requestAnimationFrame(() => r()));
      const start = g.performance.now();
      // As the host does: one page per task.
      g.pendingPages.forEach((p, i) => g.setTimeout(() => g.postMessage(p, '*'), i));
      let visibleMs = -1;
      for (let i = 0; i < 1000 && visibleMs < 0; i++) {
        await frame();
        if (g.document.querySelectorAll('.record').length) visibleMs = g.performance.now() - start;
      }
      return { visibleMs, shown: g.document.querySelectorAll('.record').length };
    });
    // Wait until every page has been taken in (the progress label counts the records).
    await allTakenIn(page, N, 120_000);
    const afterOpen = (await page.evaluate(
      () => (globalThis as unknown as { relationLensWork: Work }).relationLensWork,
    )) as Work;
    const perMessage = afterOpen.filter((w) => w.what === 'message').map((w) => w.ms);
    const messageMs = perMessage.reduce((a, b) => a + b, 0);
    const scroll = await page.evaluate(async (frames) => {
      const g = globalThis as unknown as {
        relationLensWork: Work;
        requestAnimationFrame(f: () => void): void;
        scrollBy(x: number, y: number): void;
        scrollTo(x: number, y: number): void;
        scrollY: number;
        innerHeight: number;
        document: {
          documentElement: { scrollHeight: number };
          querySelectorAll(s: string): ArrayLike<{
            getBoundingClientRect(): { top: number; bottom: number; height: number };
          }>;
        };
        performance: { now(): number };
      };
      const frame = () => new Promise<void>((r) => g.requestAnimationFrame(() => r()));
      // A frame is blank where the viewport shows a spacer (records not yet rendered) or no
      // record at all: a list that renders nothing would be fast, so this is counted too.
      const blank = () => {
        const onScreen = (r: { top: number; bottom: number; height: number }) =>
          r.height > 0 && r.bottom > 0 && r.top < g.innerHeight;
        const spacers = Array.from(g.document.querySelectorAll('.spacer'));
        const records = Array.from(g.document.querySelectorAll('.record'));
        return (
          spacers.some((e) => onScreen(e.getBoundingClientRect())) ||
          !records.some((e) => onScreen(e.getBoundingClientRect()))
        );
      };
      let blanks = 0;
      const perFrame: number[] = [];
      const start = g.performance.now();
      let down = true;
      for (let i = 0; i < frames; i++) {
        const before = g.relationLensWork.length ? g.relationLensWork.length : 0;
        const mark = g.performance.now();
        if (down) g.scrollBy(0, 700);
        else g.scrollTo(0, 0);
        if (g.scrollY + 1000 >= g.document.documentElement.scrollHeight) down = false;
        await frame();
        await frame();
        const since = g.relationLensWork.slice(before).filter((w) => w.at >= mark);
        perFrame.push(since.reduce((a, w) => a + w.ms, 0));
        if (blank()) blanks++;
        if (!down && g.scrollY === 0) down = true;
      }
      const worst = [...g.relationLensWork]
        .filter((w) => w.at >= start)
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 8);
      return { perFrame, height: g.document.documentElement.scrollHeight, worst, blanks };
    }, FRAMES);
    const f = scroll.perFrame;
    if (process.env['RECORD_VIEW_DEBUG']) console.log(JSON.stringify(scroll.worst));
    console.log(
      `record view, ${N} records (SemEval training sentences with a prediction each), Chromium ${browser.version()}, one run`,
    );
    console.log(`host: ${N} record views built in ${hostMs.toFixed(0)} ms (the extension's side)`);
    console.log(
      `open: ${pages.length} messages (first ${pages[0]!.items.length} records); first records on screen after ${open.visibleMs.toFixed(0)} ms (${open.shown} rendered); the view's own work per message ${perMessage[0]!.toFixed(0)} ms for the first, at most ${Math.max(...perMessage).toFixed(0)} ms, ${messageMs.toFixed(0)} ms in all (receiving included)`,
    );
    console.log(
      `scroll: ${f.length} frames of 700 px (list ${(scroll.height / 1e6).toFixed(1)} M px): own work per frame mean ${(f.reduce((a, b) => a + b, 0) / f.length).toFixed(2)} ms, p95 ${percentile(f, 95).toFixed(2)} ms, max ${Math.max(...f).toFixed(2)} ms, ${f.filter((x) => x > 16).length} frame(s) over 16 ms (target ≤ 16 ms); ${scroll.blanks} frame(s) showing a spacer or no record`,
    );
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
