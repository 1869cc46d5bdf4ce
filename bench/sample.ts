/** The benches' fixed samples: a seeded shuffle, first n (quality.ts and lora.ts score the same 500 sentences). */
import { mulberry32 } from '../src/core/util/random';

export function sample<T>(xs: T[], n: number, seed: number): T[] {
  const rnd = mulberry32(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}
