/** A small seeded PRNG (mulberry32): reproducible training shuffles, samples and test data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The items in a random order drawn from `rand` (Fisher–Yates). */
export function shuffled<T>(items: T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** A fixed sample (the same for the same seed) of `k` of the items, in their original order. */
export function sampleInOrder<T>(items: T[], k: number, seed: number): T[] {
  if (k >= items.length) return items;
  const idx = shuffled(
    items.map((_, i) => i),
    mulberry32(seed),
  );
  return idx
    .slice(0, k)
    .sort((a, b) => a - b)
    .map((i) => items[i]!);
}
