/** Small hand-made records for scorer tests. */
import { RelRecord } from '../../src/core/schema';

/** A two-entity sentence ("A B") with one candidate pair and, unless `label` is null, one relation. */
export function pairRecord(id: string, label: string | null, head = 'e1'): RelRecord {
  return {
    id,
    text: 'A B',
    entities: [
      { id: 'e1', name: 'A', mentions: [{ start: 0, end: 1 }] },
      { id: 'e2', name: 'B', mentions: [{ start: 2, end: 3 }] },
    ],
    relations: label ? [{ head, tail: head === 'e1' ? 'e2' : 'e1', label }] : [],
    pairs: [['e1', 'e2']],
  };
}
