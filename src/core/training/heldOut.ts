/**
 * Held-out records for the before/after comparison of a training run: a fixed sample of the
 * settled records of a curated file (no prediction pending review, at least one relation a
 * curator settled), kept out of training and scored with and without the new adapter.
 */
import { RelRecord } from '../schema';
import { sampleInOrder } from '../util/random';
import { trusted } from './trainingSet';

export interface HoldOutOptions {
  /** Share of the settled records held out (default 0.1). */
  fraction?: number;
  /** Fewest held-out records (default 4); no split with fewer than `minSettled` settled records. */
  min?: number;
  /** Most held-out records (default 100: each is extracted twice after training). */
  max?: number;
  /** Fewest settled records for a split (default 20): below, every record is needed to train. */
  minSettled?: number;
  seed?: number;
}

/** A record a curator has finished: no pending prediction, at least one settled relation. */
export function isSettled(r: RelRecord): boolean {
  return (
    r.relations.some((x) => trusted(x) !== undefined) &&
    !r.relations.some((x) => x.source === 'model' && (x.status ?? 'pending') === 'pending')
  );
}

/** The ids of the held-out records (file order), or [] when the file has too few settled records. */
export function holdOutIds(records: RelRecord[], o: HoldOutOptions = {}): string[] {
  const settled = records.filter(isSettled);
  if (settled.length < (o.minSettled ?? 20)) return [];
  const n = Math.min(
    o.max ?? 100,
    Math.max(o.min ?? 4, Math.round(settled.length * (o.fraction ?? 0.1))),
  );
  return sampleInOrder(settled, n, o.seed ?? 0).map((r) => r.id);
}

/** The reference of settled records: the relations a curator settled, as gold. */
export function curatedReference(records: RelRecord[]): RelRecord[] {
  return records.map((r) => ({
    ...r,
    relations: r.relations
      .filter((x) => trusted(x) !== undefined)
      .map(({ status: _s, ...x }) => ({ ...x, source: 'gold' as const })),
  }));
}

/** The records as the model sees them for a fresh prediction: every relation removed. */
export const withoutRelations = (records: RelRecord[]): RelRecord[] =>
  records.map((r) => ({ ...r, relations: [] }));
