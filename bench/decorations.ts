/**
 * Decoration cost per visible-range update on a 50k-line record file: the work the extension
 * does when the editor scrolls (parse the lines that became visible, mark triples against gold,
 * map mention offsets to columns). A window is 60 visible lines plus the 30-line margins the
 * controller decorates on each side. Target: ≤ 16 ms per update (one frame).
 *   npx tsx bench/decorations.ts [--lines 50000] [--updates 400]
 */
import { lineDecorations, RecordLineCache } from '../src/core/editor/lineDecorations';
import { serializeRecord } from '../src/core/formats/canonical';
import { RelRecord } from '../src/core/schema';

const arg = (n: string, d: number) => {
  const i = process.argv.indexOf(n);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('--lines', 50_000);
const UPDATES = arg('--updates', 400);
const LABELS = [
  'Cause-Effect',
  'Component-Whole',
  'Entity-Destination',
  'Message-Topic',
  'Product-Producer',
  'Member-Collection',
  'Instrument-Agency',
  'Content-Container',
  'Entity-Origin',
];

let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const lines: string[] = [];
for (let i = 0; i < N; i++) {
  const a = `word${i % 97}`;
  const b = `thing${i % 89}`;
  const text = `The ${a} was found "inside" the ${b} near the old station, according to report ${i}.`;
  const s1 = text.indexOf(a);
  const s2 = text.indexOf(b);
  const rec: RelRecord = {
    id: `doc-${i}`,
    text,
    entities: [
      { id: 'e1', name: a, mentions: [{ start: s1, end: s1 + a.length }] },
      { id: 'e2', name: b, mentions: [{ start: s2, end: s2 + b.length }] },
    ],
    relations: [
      { head: 'e1', tail: 'e2', label: LABELS[i % LABELS.length]!, source: 'gold' },
      {
        head: 'e1',
        tail: 'e2',
        label: LABELS[Math.floor(rnd() * LABELS.length)]!,
        source: 'model',
        score: Number(rnd().toFixed(4)),
        status: 'pending',
        meta: { model: 'bench', top: [['x', 0.5]] },
      },
    ],
    pairs: [['e1', 'e2']],
  };
  lines.push(serializeRecord(rec));
}
const bytes = lines.reduce((n, l) => n + l.length + 1, 0);
const WINDOW = 60 + 2 * 30;

function run(cache: RecordLineCache, starts: number[]): number[] {
  const times: number[] = [];
  for (const s of starts) {
    const t0 = performance.now();
    let n = 0;
    for (let i = s; i < Math.min(N, s + WINDOW); i++) {
      const d = lineDecorations(lines[i]!, cache, 'Other');
      if (d) n += d.triples.length + d.mentions.length;
    }
    times.push(performance.now() - t0);
    if (!n) throw new Error('no decorations');
  }
  return times;
}

const starts = Array.from({ length: UPDATES }, () => Math.floor(rnd() * (N - WINDOW)));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const cache = new RecordLineCache(20_000);
const cold = run(cache, starts); // lines never seen: every visible line is parsed
const warm = run(cache, starts); // scrolling back over recently seen lines
const sequential = run(
  new RecordLineCache(20_000),
  Array.from({ length: Math.floor(N / 60) }, (_, k) => k * 60),
); // paging through the whole file

const row = (name: string, t: number[]) =>
  `${name.padEnd(34)} median ${pct(t, 0.5).toFixed(2).padStart(6)} ms   p95 ${pct(t, 0.95).toFixed(2).padStart(6)} ms   max ${Math.max(
    ...t,
  )
    .toFixed(2)
    .padStart(6)} ms   p95 ÷ 16 ms = ${(pct(t, 0.95) / 16).toFixed(3)}`;
console.log(`${N} lines (${(bytes / 1e6).toFixed(1)} MB), ${WINDOW} lines decorated per update`);
console.log(row(`random jumps, cold (${UPDATES})`, cold));
console.log(row(`random jumps, warm (${UPDATES})`, warm));
console.log(row(`paging through the file (${sequential.length})`, sequential));
