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
 *    the viewport, or no record): records must be on screen when the frame is drawn. The page's
 *    clock gives the work's wall-clock time, which on a busy machine includes the time the
 *    renderer's thread waited for a core; a Chromium trace of the scrolling (left out with
 *    --no-trace) gives each frame's thread time, the CPU time of the view's own work, and breaks
 *    the slow frames down (garbage collection, layout, style) and sums the collections on the
 *    page's main thread during the scroll. Target ≤ 16 ms of the view's own work per frame, no
 *    blank frame;
 *  - filter: the time to show only the records to review (every view parsed and checked), then
 *    the reviewed ones;
 *  - the page's JS heap at the end, after a full collection.
 * The records are the SemEval-2010 Task 8 training sentences with a model prediction each,
 * repeated under new ids to the size asked for.
 *
 *   npx tsx bench/recordView.ts [--records 50000] [--frames 600] [--no-trace]
 * RECORD_VIEW_DEBUG=1 also prints the 8 slowest pieces of work while scrolling;
 * RECORD_VIEW_TRACE=<file> writes the trace to <file> (a new file: an existing one is refused).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { recordView, viewPages } from '../src/core/editor/recordView';
import { RelRecord } from '../src/core/schema';
import { recordItem } from '../src/protocol/recordView';
import { loadRecords } from '../src/node/load';
import { prepareReplace, writeOutput } from '../src/node/output';
import {
  CHROMIUM,
  RECORD_VIEW_BUNDLE,
  allTakenIn,
  loadRecordView,
  setFilter,
} from '../test/helpers/recordViewPage';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '50000' },
    frames: { type: 'string', default: '600' },
    'no-trace': { type: 'boolean', default: false },
  },
});
const N = Number(values.records);
const FRAMES = Number(values.frames);
/** RECORD_VIEW_TRACE=<file> keeps the trace (it opens in Chromium's DevTools, Performance). */
const TRACE_FILE = process.env['RECORD_VIEW_TRACE'];

type Work = Array<{ what: string; at: number; ms: number }>;

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  tdur?: number;
  pid: number;
  tid: number;
  args?: { data?: { message?: string } };
}

const ANCHOR = 'relation-lens-bench';

/**
 * The view's scroll work of each frame, found in a Chromium trace: the animation-frame callback
 * (FireAnimationFrame) in which each piece of work began, its wall-clock time and its thread time
 * (the CPU time the renderer's main thread spent in it; the rest of the wall-clock time the thread
 * waited for a core). `anchor` is the page's clock when it wrote the ANCHOR time stamp; a frame
 * whose work is not found gets no entry. The slow frames (over 16 ms either way) are broken down:
 * garbage collection, layout and style inside them.
 */
function traced(
  trace: Buffer,
  anchor: number,
  frames: Work[],
): { wall: number[]; cpu: number[]; slow: string[]; gc: string } {
  const events = (JSON.parse(trace.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
  const stamp = events.find((e) => e.name === 'TimeStamp' && e.args?.data?.message === ANCHOR);
  if (!stamp) throw new Error(`the trace has no ${ANCHOR} time stamp`);
  const main = events.filter(
    (e) => e.ph === 'X' && e.dur !== undefined && e.pid === stamp.pid && e.tid === stamp.tid,
  );
  const callbacks = main.filter((e) => e.name === 'FireAnimationFrame');
  const kinds: Array<[string, (n: string) => boolean]> = [
    ['GC', (n) => /GC|Scavenge|MarkCompact|Sweep/i.test(n)],
    ['layout', (n) => n === 'Layout'],
    ['style', (n) => n === 'UpdateLayoutTree'],
  ];
  const ms = (us: number) => (us / 1000).toFixed(1);
  const wall: number[] = [];
  const cpu: number[] = [];
  const slow: string[] = [];
  let end = stamp.ts;
  for (const work of frames) {
    // The callback that overlaps the piece of work most (performance.now() is coarsened to 0.1 ms,
    // and the benchmark's own callbacks run in the same frames).
    const mine = [
      ...new Set(
        work.flatMap((w) => {
          const from = stamp.ts + (w.at - anchor) * 1000;
          const to = from + w.ms * 1000;
          const overlap = (e: TraceEvent) =>
            Math.min(to, e.ts + e.dur!) - Math.max(from, e.ts) + (w.ms ? 0 : 1);
          const near = callbacks.filter((e) => e.ts <= to + 100 && from - 100 <= e.ts + e.dur!);
          const c = near.sort((a, b) => overlap(b) - overlap(a))[0];
          return c && overlap(c) > 0 ? [c] : [];
        }),
      ),
    ];
    if (!mine.length) continue;
    end = Math.max(end, ...mine.map((e) => e.ts + e.dur!));
    const w = mine.reduce((a, e) => a + e.dur!, 0);
    const c = mine.reduce((a, e) => a + (e.tdur ?? e.dur!), 0);
    wall.push(w / 1000);
    cpu.push(c / 1000);
    if (w <= 16_000 && c <= 16_000) continue;
    const inside = main.filter((e) =>
      mine.some((f) => e !== f && e.ts >= f.ts && e.ts < f.ts + f.dur!),
    );
    // Outermost events only, per kind (GC events nest in one another).
    const parts = kinds.map(([kind, is]) => {
      const of = inside.filter((e) => is(e.name));
      const outer = of.filter(
        (e) => !of.some((o) => o !== e && o.ts <= e.ts && e.ts + e.dur! <= o.ts + o.dur!),
      );
      if (!outer.length) return '';
      const d = outer.reduce((a, e) => a + e.dur!, 0);
      const t = outer.reduce((a, e) => a + (e.tdur ?? e.dur!), 0);
      // Which collections (the outermost events' names: MinorGC, MajorGC, V8.GC_… steps).
      const names = kind === 'GC' ? ` [${[...new Set(outer.map((e) => e.name))].join(', ')}]` : '';
      return `${kind} ${ms(d)} ms (thread ${ms(t)} ms)${names}`;
    });
    slow.push(
      `  ${ms(w)} ms wall-clock, ${ms(c)} ms thread time: ${parts.filter(Boolean).join(', ') || 'script only'}`,
    );
  }
  // The collections on the page's main thread from the scroll's start to its last callback's end
  // (thread time), wherever they ran: inside the view's callbacks or between them.
  const during = main.filter((e) => e.ts >= stamp.ts && e.ts < end);
  const gc = (['MajorGC', 'MinorGC', 'V8.GCIncrementalMarking'] as const)
    .map((name) => {
      const of = during.filter((e) => e.name === name);
      const t = of.reduce((a, e) => a + (e.tdur ?? e.dur!), 0);
      const max = Math.max(0, ...of.map((e) => e.tdur ?? e.dur!));
      return `${of.length} ${name} (${ms(t)} ms, longest ${ms(max)} ms)`;
    })
    .join(', ');
  return { wall, cpu, slow, gc };
}

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
/** Per-frame times in ms: mean, 95th percentile, maximum and the frames over 16 ms. */
const stats = (xs: number[]) =>
  `mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} ms, p95 ${percentile(xs, 95).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms, ${xs.filter((x) => x > 16).length} frame(s) over 16 ms`;

async function main(): Promise<void> {
  if (!existsSync(RECORD_VIEW_BUNDLE))
    throw new Error(`${RECORD_VIEW_BUNDLE} is missing: npm run build`);
  // The trace's file is checked before the run (the output policy: never over an existing file).
  if (TRACE_FILE) await prepareReplace(TRACE_FILE, [], false);
  const train = await loadRecords(
    path.join(ROOT, '..', 'shared', 'datasets', 'semeval2010_task8', 'TRAIN_FILE.TXT'),
  );
  const t0 = performance.now();
  const items = Array.from({ length: N }, (_, i) => {
    const r = withPrediction(train.records[i % train.records.length]!, i);
    return recordItem(i, recordView(r, 'Other'));
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
      // (Taken out of the page's globals: the view's heap is what it holds, not the benchmark's copy.)
      g.pendingPages.splice(0).forEach((p, i) => g.setTimeout(() => g.postMessage(p, '*'), i));
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
    if (!values['no-trace'])
      await browser.startTracing(page, {
        categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.gc'],
      });
    const scroll = await page.evaluate(
      async ([frames, anchorName]) => {
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
          console: { timeStamp(label: string): void };
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
        const works: Work[] = [];
        // Where the page's clock stands in the trace.
        const start = g.performance.now();
        g.console.timeStamp(anchorName);
        let down = true;
        for (let i = 0; i < frames; i++) {
          const mark = g.performance.now();
          if (down) g.scrollBy(0, 700);
          else g.scrollTo(0, 0);
          if (g.scrollY + 1000 >= g.document.documentElement.scrollHeight) down = false;
          await frame();
          await frame();
          // The view keeps its last 2,000 pieces of work: those begun since the mark are this frame's.
          const since = g.relationLensWork.filter((w) => w.at >= mark);
          perFrame.push(since.reduce((a, w) => a + w.ms, 0));
          works.push(since);
          if (blank()) blanks++;
          if (!down && g.scrollY === 0) down = true;
        }
        const worst = [...g.relationLensWork]
          .filter((w) => w.at >= start)
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 8);
        return {
          perFrame,
          works,
          anchor: start,
          height: g.document.documentElement.scrollHeight,
          worst,
          blanks,
        };
      },
      [FRAMES, ANCHOR] as const,
    );
    const raw = values['no-trace'] ? undefined : await browser.stopTracing();
    if (raw && TRACE_FILE) await writeOutput(TRACE_FILE, [], false, () => raw.toString('utf8'));
    const trace = raw ? traced(raw, scroll.anchor, scroll.works) : undefined;
    // A filter over the whole file (after the trace): every view is parsed and checked once.
    const filterMs = {
      first: await setFilter(page, 'f-status', 'pending'),
      again: 0,
    };
    await setFilter(page, 'f-status', 'all');
    // Another filter: the views' facets are known now, nothing is parsed again.
    filterMs.again = await setFilter(page, 'f-status', 'reviewed');
    await setFilter(page, 'f-status', 'all');
    // The page's JS heap after the scrolling and the filter, after a full collection: what the view
    // holds. (Read last: a collection forced before the scrolling would leave it less garbage.)
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize;
    const f = scroll.perFrame;
    if (process.env['RECORD_VIEW_DEBUG']) console.log(JSON.stringify(scroll.worst));
    console.log(
      `record view, ${N} records (SemEval training sentences with a prediction each), Chromium ${browser.version()}, one run`,
    );
    console.log(`host: ${N} record views built in ${hostMs.toFixed(0)} ms (the extension's side)`);
    console.log(
      `open: ${pages.length} messages (first ${pages[0]!.items.length} records); first records on screen after ${open.visibleMs.toFixed(0)} ms (${open.shown} rendered); the view's own work per message ${perMessage[0]!.toFixed(0)} ms for the first, at most ${Math.max(...perMessage).toFixed(0)} ms, ${messageMs.toFixed(0)} ms in all (receiving included); JS heap ${(heap / 2 ** 20).toFixed(0)} MiB after the scrolling, a filter and a full collection`,
    );
    console.log(
      `scroll: ${f.length} frames of 700 px (list ${(scroll.height / 1e6).toFixed(1)} M px): the view's work per frame, wall-clock (the page's clock), ${stats(f)}; ${scroll.blanks} frame(s) showing a spacer or no record`,
    );
    console.log(
      `filter: "to review" over the ${N} records ${filterMs.first.toFixed(0)} ms (each view parsed and checked, the order rebuilt, the list rendered); then "reviewed" ${filterMs.again.toFixed(0)} ms`,
    );
    if (trace) {
      console.log(
        `trace (it slows the page): the view's scroll callbacks found in ${trace.cpu.length} of the ${scroll.works.filter((w) => w.length).length} frames with scroll work; their thread time per frame (the view's own work, target ≤ 16 ms) ${stats(trace.cpu)}; their wall-clock time ${stats(trace.wall)}; garbage collection on the main thread during the scroll (thread time): ${trace.gc}${trace.slow.length ? `; frames over 16 ms:\n${trace.slow.join('\n')}` : ''}`,
      );
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
