/** The benches' fixed samples: a seeded shuffle, first n (quality.ts and lora.ts score the same 500 sentences). */
import { mulberry32, shuffled } from '../src/core/util/random';

/** The seed of the test samples quality.ts, lora.ts, loop.ts and shipped-adapters.ts share. */
export const TEST_SAMPLE_SEED = 2024;

export function sample<T>(xs: T[], n: number, seed: number): T[] {
  return shuffled(xs, mulberry32(seed)).slice(0, n);
}
