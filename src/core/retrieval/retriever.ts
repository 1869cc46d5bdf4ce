/**
 * RAG4RE retrieval: the k labeled training examples nearest to the query sentence (never from
 * the query's own record), rendered as demonstrations in the answer format of the prompt; and
 * the nearest-neighbour vote baseline, which predicts without an LLM.
 */
import { Entity, RelRecord } from '../schema';
import { TrainingExample, retrievalText } from './examples';
import { Searcher } from './searchers';
import { AnswerSpace } from '../pipelines/answerSpace';
import { ExampleRetriever, RetrievedExample } from '../ports';

export class TrainingRetriever implements ExampleRetriever {
  private readonly byRecord = new Map<string, number[]>();
  constructor(
    readonly examples: TrainingExample[],
    readonly searcher: Searcher,
    private readonly space: AnswerSpace,
  ) {
    examples.forEach((e, i) => {
      const l = this.byRecord.get(e.recordId) ?? [];
      l.push(i);
      this.byRecord.set(e.recordId, l);
    });
  }

  async retrieve(
    record: RelRecord,
    _head: Entity,
    _tail: Entity,
    k: number,
  ): Promise<RetrievedExample[]> {
    const own = this.byRecord.get(record.id);
    // Exclude the example itself: same record id, or the very same sentence (a duplicate across splits).
    const exclude = (i: number) =>
      this.examples[i]!.recordId === record.id ||
      this.examples[i]!.sentence === record.text ||
      (own?.includes(i) ?? false);
    const hits = await this.searcher.search(retrievalText(record.text), k, exclude);
    return hits.map((h) => {
      const e = this.examples[h.index]!;
      return {
        id: e.id,
        sentence: e.sentence,
        head: e.head,
        tail: e.tail,
        label: this.space.encode(e.label, e.reversed) ?? e.label ?? '',
        score: h.score,
      };
    });
  }
}

/** Nearest-neighbour vote: the answer most frequent among the k neighbours, ties to the nearest. */
export function knnVote(
  neighbours: RetrievedExample[],
  fallback: string,
): { answer: string; confidence: number } {
  if (neighbours.length === 0) return { answer: fallback, confidence: 0 };
  const votes = new Map<string, { n: number; first: number }>();
  neighbours.forEach((n, i) => {
    const v = votes.get(n.label) ?? { n: 0, first: i };
    v.n++;
    votes.set(n.label, v);
  });
  let best = '';
  let bv = { n: -1, first: Infinity };
  for (const [label, v] of votes)
    if (v.n > bv.n || (v.n === bv.n && v.first < bv.first)) [best, bv] = [label, v];
  return { answer: best, confidence: bv.n / neighbours.length };
}
