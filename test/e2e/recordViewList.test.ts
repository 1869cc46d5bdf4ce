/**
 * The record view's virtualised list in Chromium (the engine VS Code's webviews run in): the real
 * webview bundle (dist/webview/recordView.js; `npm test` builds it) with a stand-in for the
 * webview API, given 1,000 SemEval records the way the host sends them. Only the records near the
 * viewport are in the DOM; keyboard navigation, the host's "focus" and scrolling bring the others
 * in, with records (not blank spacers) on screen. The code-server test covers the view inside VS
 * Code on small files; this one covers what only a long file exercises.
 */
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { recordView, viewPages } from '../../src/core/editor/recordView';
import { loadRecords } from '../../src/node/load';
import { RecordItem, recordItem } from '../../src/protocol/recordView';
import {
  CHROMIUM,
  RECORD_VIEW_BUNDLE,
  allTakenIn,
  loadRecordView,
  setFilter as setFilterIn,
} from '../helpers/recordViewPage';
import { dataset, requireShared } from '../helpers/shared';

const N = 1000;

type Win = { postMessage(m: unknown, origin: string): void };
type Rect = { top: number; bottom: number; height: number };
type Doc = {
  innerHeight: number;
  document: {
    querySelector(s: string): { getBoundingClientRect(): Rect; dataset: Record<string, string> };
    querySelectorAll(s: string): ArrayLike<{ getBoundingClientRect(): Rect }>;
  };
};

describe('record view: the virtualised list (Chromium, the webview bundle, 1,000 records)', function () {
  this.timeout(180_000);
  let browser: Browser | undefined;
  let page: Page;
  let items: Array<{ line: number; view: ReturnType<typeof recordView> }> = [];

  /** The host's message with the record views of `lines` (`reset`: the first page of the file). */
  const records = (lines: typeof items, reset = false) => ({
    type: 'records',
    file: 'test.jsonl',
    reset,
    items: lines.map((it) => recordItem(it.line, it.view)),
    invalid: [],
    labels: [],
  });
  const post = (m: unknown) =>
    page.evaluate((m) => (globalThis as unknown as Win).postMessage(m, '*'), m);
  /** The text of the first element matching `selector` ('' when there is none). */
  const text = (selector: string) =>
    page.evaluate(
      (selector) =>
        (
          globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string } | null };
          }
        ).document.querySelector(selector)?.textContent ?? '',
      selector,
    );

  before(async function () {
    const file = dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT');
    requireShared(this, file);
    for (const need of [CHROMIUM, RECORD_VIEW_BUNDLE])
      if (!existsSync(need)) {
        console.log(`    SKIP: ${need} is missing (Chromium; npm run build for the bundle)`);
        this.skip();
      }
    const data = await loadRecords(file);
    // Each record with a model prediction to review (its gold label, pending).
    items = data.records.slice(0, N).map((r, line) => ({
      line,
      view: recordView(
        {
          ...r,
          relations: [
            ...r.relations,
            ...r.relations.map((g) => ({
              ...g,
              source: 'model' as const,
              score: 0.5,
              status: 'pending' as const,
            })),
          ],
        },
        'Other',
      ),
    }));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await loadRecordView(page);
    for (const [i, p] of viewPages(items).entries()) await post(records(p, i === 0));
    await allTakenIn(page, N);
    assert.deepEqual(errors, [], 'no page errors');
  });
  after(async () => {
    await browser?.close();
  });

  /** After two animation frames: the current record, what the DOM holds, what is on screen. */
  const state = () =>
    page.evaluate(async () => {
      const g = globalThis as unknown as Doc & { requestAnimationFrame(f: () => void): void };
      for (let i = 0; i < 2; i++) await new Promise<void>((r) => g.requestAnimationFrame(r));
      const onScreen = (r: Rect) => r.height > 0 && r.bottom > 0 && r.top < g.innerHeight;
      const records = Array.from(
        g.document.querySelectorAll('.record') as ArrayLike<{
          getBoundingClientRect(): Rect;
          dataset: Record<string, string>;
        }>,
      );
      const cur = g.document.querySelector('.record.current');
      return {
        inDom: records.length,
        indices: records.map((r) => Number(r.dataset['index'])),
        visible: records.filter((r) => onScreen(r.getBoundingClientRect())).length,
        current: cur ? Number(cur.dataset['index']) : -1,
        currentOnScreen: cur ? onScreen(cur.getBoundingClientRect()) : false,
        spacerOnScreen: Array.from(g.document.querySelectorAll('.spacer')).some((s) =>
          onScreen(s.getBoundingClientRect()),
        ),
      };
    });

  it('opens with the first records only in the DOM, in order, the first one current', async () => {
    const s = await state();
    assert.equal(s.current, 0);
    assert.ok(s.currentOnScreen);
    assert.ok(s.visible > 0 && !s.spacerOnScreen, JSON.stringify(s));
    assert.ok(s.inDom < 60, `${s.inDom} of ${N} records in the DOM`);
    assert.deepEqual(
      s.indices,
      s.indices.map((_, i) => i),
      'records 0, 1, 2, … in order',
    );
  });

  it('j past the first chunks: the current record follows, on screen', async () => {
    for (let i = 0; i < 23; i++) await page.keyboard.press('j');
    const s = await state();
    assert.equal(s.current, 23);
    assert.ok(s.currentOnScreen, JSON.stringify(s));
    assert.ok(!s.spacerOnScreen);
  });

  it("the host's focus on a far line brings it in; k goes back one; the DOM stays small", async () => {
    await post({ type: 'focus', line: 777 });
    let s = await state();
    assert.equal(s.current, 777);
    assert.ok(s.currentOnScreen && !s.spacerOnScreen, JSON.stringify(s));
    assert.ok(s.inDom < 60, `${s.inDom} records in the DOM`);
    assert.ok(!s.indices.includes(0), 'the first records left the DOM');
    const sorted = [...s.indices].sort((a, b) => a - b);
    assert.deepEqual(s.indices, sorted, 'in order');
    assert.equal(sorted[sorted.length - 1]! - sorted[0]! + 1, sorted.length, 'contiguous');
    await page.keyboard.press('k');
    s = await state();
    assert.equal(s.current, 776);
    assert.ok(s.currentOnScreen);
  });

  it('scrolling to the end and back to the top shows records, never a blank spacer', async () => {
    for (const to of ['end', 'top', 'middle'] as const) {
      await page.evaluate((to) => {
        const g = globalThis as unknown as {
          scrollTo(x: number, y: number): void;
          document: { documentElement: { scrollHeight: number } };
        };
        const h = g.document.documentElement.scrollHeight;
        g.scrollTo(0, to === 'end' ? h : to === 'top' ? 0 : h / 2);
      }, to);
      const s = await state();
      assert.ok(s.visible > 0 && !s.spacerOnScreen, `${to}: ${JSON.stringify(s)}`);
      if (to === 'end') assert.ok(s.indices.includes(N - 1), 'the last record at the end');
      if (to === 'top') assert.equal(s.indices[0], 0, 'the first record at the top');
    }
  });

  it('a record changed on disk is re-rendered in place: the host sends its line again', async () => {
    // A record still to review, far from the current one.
    const line = items.findIndex((it, i) => i >= 500 && !it.view.reviewed);
    const done = items.filter((it) => it.view.reviewed).length;
    await post({ type: 'focus', line });
    const chip = () => text('.record.current .chip');
    assert.equal((await state()).current, line);
    assert.notEqual(await chip(), 'reviewed');
    await post(records([{ line, view: { ...items[line]!.view, reviewed: true } }]));
    const s = await state();
    assert.equal(s.current, line);
    assert.ok(s.currentOnScreen);
    assert.equal(await chip(), 'reviewed');
    assert.match(await text('#progress .label'), new RegExp(`^${done + 1} / ${N} reviewed`));
  });

  it('markup in a record (text, entity names, labels) shows as text: nothing is injected; CR, NUL and lone surrogates stay as they are', async () => {
    const line = 600;
    const v = items[line]!.view;
    const markup = '<img src=x onerror="globalThis.injected=1">@@';
    const name = `a "quoted" & 'odd' <name>`;
    const view = {
      ...v,
      segments: v.segments.map((s, i) => (i === 0 ? { ...s, text: markup + s.text } : s)),
      entities: v.entities.map((e) => ({ ...e, name })),
      triples: v.triples.map((t) => ({ ...t, text: `<b>${t.text}</b>` })),
    };
    // The characters the HTML parser changes are put in inside the page (the protocol to the
    // browser would change a lone surrogate too).
    await page.evaluate(
      (m) => {
        const v = JSON.parse(m.items[0]!.view) as typeof view;
        const s = v.segments[0]!;
        s.text = s.text.replace('@@', 'a\r\nb\rc\0d\uD800e');
        m.items[0]!.view = JSON.stringify(v);
        (globalThis as unknown as Win).postMessage(m, '*');
      },
      records([{ line, view }]),
    );
    await post({ type: 'focus', line });
    assert.equal((await state()).current, line);
    const got = await page.evaluate(() => {
      const g = globalThis as unknown as {
        injected?: number;
        document: {
          querySelector(s: string): { textContent: string; getAttribute(a: string): string } | null;
          querySelectorAll(s: string): ArrayLike<unknown>;
        };
      };
      const q = (s: string) => g.document.querySelector(`.record.current ${s}`);
      const text = q('.text')?.textContent ?? '';
      return {
        exact: text.includes('>a\r\nb\rc\0d\uD800e'),
        text,
        title: q('.mention')?.getAttribute('title') ?? '',
        rel: q('.rel')?.textContent ?? '',
        elements: g.document.querySelectorAll('.record.current img, .record.current .rel b').length,
        injected: g.injected,
      };
    });
    assert.ok(got.text.startsWith(markup.replace('@@', '')), got.text);
    assert.ok(got.exact, 'CR, CR LF, NUL and a lone surrogate as the record has them');
    assert.ok(got.title.startsWith(name), got.title);
    assert.ok(got.rel.startsWith('<b>'), got.rel);
    assert.equal(got.elements, 0);
    assert.equal(got.injected, undefined);
  });

  it('a view the webview cannot read (not JSON, not a record view) shows as such, with its line; the others render', async () => {
    const bad: RecordItem[] = [
      { line: 700, reviewed: false, view: '{"id": "cut off' },
      { line: 701, reviewed: false, view: JSON.stringify({ id: 'x', segments: 'none' }) },
    ];
    await post({ ...records([]), items: bad });
    for (const line of [700, 701]) {
      await post({ type: 'focus', line });
      const s = await state();
      assert.equal(s.current, line);
      assert.ok(s.currentOnScreen);
      assert.equal(await text('.record.current .head'), `line ${line + 1}: not a valid record`);
    }
    await post({ type: 'focus', line: 702 });
    assert.equal((await state()).current, 702);
    assert.match(await text('.record.current .id'), /\S/);
  });

  it('filters by status and label; a record that stops matching leaves the list when the host sends its line again', async () => {
    const setFilter = (id: string, value: string) => setFilterIn(page, id, value);
    /** The lines of the records in the DOM, in order (after two animation frames). */
    const lines = () =>
      page.evaluate(async () => {
        const g = globalThis as unknown as {
          document: { querySelectorAll(s: string): ArrayLike<{ dataset: Record<string, string> }> };
          requestAnimationFrame(f: () => void): void;
        };
        for (let i = 0; i < 2; i++) await new Promise<void>((r) => g.requestAnimationFrame(r));
        return Array.from(g.document.querySelectorAll('.record')).map((r) =>
          Number(r.dataset['line']),
        );
      });
    // The first 400 lines are as `items` has them (the tests above change later ones).
    const pending = items.filter((it) => it.line < 400 && !it.view.reviewed).map((it) => it.line);
    const reviewedBefore = items.filter((it) => it.line < 400 && it.view.reviewed).length;
    assert.ok(pending.length > 40, `${pending.length} pending`);
    await setFilter('f-status', 'pending');
    let shown = await lines();
    assert.ok(shown.length > 0);
    assert.deepEqual(shown, pending.slice(0, shown.length));
    // The first pending record is reviewed on disk: the host sends its line, it leaves the list.
    const first = pending[0]!;
    await post(records([{ line: first, view: { ...items[first]!.view, reviewed: true } }]));
    shown = await lines();
    assert.deepEqual(shown, pending.slice(1, shown.length + 1));
    await setFilter('f-status', 'reviewed');
    shown = await lines();
    assert.ok(shown.includes(first), JSON.stringify(shown));
    for (const l of shown.filter((l) => l < 400))
      assert.ok(l === first || items[l]!.view.reviewed, `line ${l} is not reviewed`);
    assert.equal(shown.filter((l) => l < 400).length, Math.min(reviewedBefore + 1, shown.length));
    // A label: only the pending records with a relation of that label.
    await setFilter('f-status', 'pending');
    const label = items[pending[1]!]!.view.triples[0]?.label;
    assert.ok(label, 'the record has a relation');
    await setFilter('f-label', label);
    shown = await lines();
    const want = pending
      .slice(1)
      .filter((l) => items[l]!.view.triples.some((t) => t.label === label));
    assert.ok(shown.length > 0 && shown.length <= want.length, `${shown.length} of ${want.length}`);
    assert.deepEqual(shown, want.slice(0, shown.length));
    // A source no record has: nothing matches, and the list says so.
    await setFilter('f-source', 'human');
    assert.deepEqual(await lines(), []);
    assert.equal(await text('#list .none'), 'no record matches the filter');
    await setFilter('f-source', '');
    // Back as it was.
    await post(records([items[first]!]));
    await setFilter('f-label', '');
    await setFilter('f-status', 'all');
    shown = await lines();
    assert.deepEqual(
      shown,
      Array.from({ length: shown.length }, (_, i) => i),
    );
  });
});
