/**
 * Runs sentence-level extraction over a stream of records with up to `inFlight` pairs being
 * classified at once (the engine's parallel sequences), yielding records in input order as
 * soon as all their pairs are done.
 */
import { ClassifierEngine } from '../ports';
import { RelRecord, candidatePairs } from '../schema';
import { PairPrediction, SentenceOptions, applyPredictions, classifyPair } from './sentence';
import { AnswerSpace, answerCodes } from './answerSpace';

export interface ExtractedRecord {
  record: RelRecord;
  predictions: PairPrediction[];
}

export async function* runSentenceExtraction(
  engine: ClassifierEngine | undefined,
  records: AsyncIterable<RelRecord> | Iterable<RelRecord>,
  space: AnswerSpace,
  opts: SentenceOptions & { inFlight: number; model: string },
): AsyncGenerator<ExtractedRecord> {
  const labelTokens = engine
    ? await Promise.all(
        (opts.answerCodes && opts.mode !== 'knn' ? answerCodes(space).codes : space.answers).map(
          (a) => engine.tokenizeLabel(a),
        ),
      )
    : [];
  const window: Array<{ record: RelRecord; pairs: number; done: Promise<PairPrediction[]> }> = [];
  let pending = 0;
  const flushOne = async (): Promise<ExtractedRecord> => {
    const first = window.shift()!;
    const predictions = await first.done;
    pending -= first.pairs;
    return {
      record: applyPredictions(first.record, predictions, space, {
        model: opts.model,
        keepTop: opts.keepTop,
      }),
      predictions,
    };
  };
  for await (const record of records) {
    const pairs = candidatePairs(record);
    const done = Promise.all(
      pairs.map((p) => classifyPair(engine, record, p, { space, labelTokens }, opts)),
    );
    done.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
    window.push({ record, pairs: pairs.length, done });
    pending += pairs.length;
    while (pending >= opts.inFlight * 2 && window.length > 1) yield await flushOne();
  }
  while (window.length) yield await flushOne();
}
