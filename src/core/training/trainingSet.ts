/**
 * Fine-tuning data: which pairs of a curated file a LoRA adapter learns from, and the prompt and
 * answer of each — rendered by the very function extraction uses (`pairPrompt`: template,
 * relation list, answer format, direction, retrieved demonstrations), so that the model is
 * trained on exactly the prompts it will be asked.
 *
 * A pair's answer is known when
 *  - it holds a trusted relation: gold, added/edited by a person (`source: "human"`), or a model
 *    prediction the curator accepted (`status: "accepted"`) → that label, in the pair's direction;
 *  - it holds no relation at all (gold data lists none: SemEval's Other) → the no-relation answer;
 *  - its only predictions were rejected → the no-relation answer (a negative), where the relation
 *    set has one.
 * A pair whose predictions are still pending review is left out (not curated yet), and so is a
 * relation whose label is not in the relation set.
 */
import type { ChatPrompt } from '../ports';
import { pairPrompt } from '../pipelines/sentence';
import { PromptTemplate } from '../prompts/template';
import {
  Entity,
  RelRecord,
  Relation,
  RelationSet,
  candidatePairs,
  isIgnoredRecord,
} from '../schema';
import { sampleInOrder } from '../util/random';
import { AnswerSpace, DirectionMode, answerCodes } from '../pipelines/answerSpace';
import { ExampleRetriever } from '../ports';

export interface TrainingPair {
  record: RelRecord;
  head: Entity;
  tail: Entity;
  pair: [string, string];
  /** Canonical label, or null for the no-relation answer. */
  label: string | null;
  reversed: boolean;
  /** Where the answer came from. */
  from: 'gold' | 'human' | 'accepted' | 'unlabeled' | 'rejected';
}

export interface TrainingSelection {
  pairs: TrainingPair[];
  counts: {
    records: number;
    positives: number;
    negatives: number;
    /** Pairs left out because their predictions are pending review. */
    pending: number;
    /** Pairs a curator ignored ("not sure, skip"), and the pairs of ignored records (meta.ignored). */
    ignored: number;
    /** Relations left out because their label is not in the relation set. */
    unknownLabel: number;
    /** Pairs left out because the set has no no-relation answer for them. */
    noAnswer: number;
  };
}

/** What a curator settled a relation as: gold, human-made, accepted; undefined for pending and rejected ones. */
export const trusted = (x: Relation): 'gold' | 'human' | 'accepted' | undefined =>
  x.status === 'rejected' || x.status === 'ignored'
    ? undefined
    : x.source === 'gold'
      ? 'gold'
      : x.source === 'human'
        ? 'human'
        : x.status === 'accepted'
          ? 'accepted'
          : undefined;

/** With `direction: "pair"` the pair order is head → tail, so only a relation in that order answers it. */
const onPair = (x: Relation, a: string, b: string, direction: DirectionMode) =>
  (x.head === a && x.tail === b) || (direction === 'label' && x.head === b && x.tail === a);

export function selectTrainingPairs(
  records: RelRecord[],
  rs: RelationSet,
  direction: DirectionMode,
): TrainingSelection {
  const labels = new Set(rs.labels.map((l) => l.name));
  const counts: TrainingSelection['counts'] = {
    records: 0,
    positives: 0,
    negatives: 0,
    pending: 0,
    ignored: 0,
    unknownLabel: 0,
    noAnswer: 0,
  };
  const pairs: TrainingPair[] = [];
  for (const r of records) {
    if (isIgnoredRecord(r)) {
      counts.ignored += candidatePairs(r).length;
      continue;
    }
    const byId = new Map(r.entities.map((e) => [e.id, e]));
    let used = false;
    for (const [a, b] of candidatePairs(r)) {
      const head = byId.get(a);
      const tail = byId.get(b);
      if (!head || !tail) continue;
      const here = r.relations.filter((x) => onPair(x, a, b, direction));
      if (here.some((x) => x.status === 'ignored')) {
        counts.ignored++;
        continue;
      }
      const good = here.map((x) => [x, trusted(x)] as const).find(([, t]) => t !== undefined);
      let item: TrainingPair | undefined;
      if (good) {
        const [x, from] = good;
        if (x.label === rs.noRelation)
          item = { record: r, head, tail, pair: [a, b], label: null, reversed: false, from: from! };
        else if (!labels.has(x.label)) {
          counts.unknownLabel++;
          continue;
        } else
          item = {
            record: r,
            head,
            tail,
            pair: [a, b],
            label: x.label,
            reversed: x.head === b && x.head !== x.tail,
            from: from!,
          };
      } else if (here.some((x) => x.status !== 'rejected')) {
        counts.pending++;
        continue;
      } else {
        if (!rs.noRelation) {
          counts.noAnswer++;
          continue;
        }
        item = {
          record: r,
          head,
          tail,
          pair: [a, b],
          label: null,
          reversed: false,
          from: here.length ? 'rejected' : 'unlabeled',
        };
      }
      pairs.push(item);
      if (item.label === null) counts.negatives++;
      else counts.positives++;
      used = true;
    }
    if (used) counts.records++;
  }
  return { pairs, counts };
}

/** A fixed sample of at most `n` pairs (the same for the same seed), in file order. */
export function samplePairs(
  pairs: TrainingPair[],
  n: number | undefined,
  seed = 0,
): TrainingPair[] {
  if (!n || n >= pairs.length) return pairs;
  return sampleInOrder(pairs, n, seed);
}

export interface RenderedExample {
  pair: TrainingPair;
  prompt: ChatPrompt;
  /** The answer the model must write (a code with answer codes). */
  answer: string;
  /** Every answer the model may give (codes with answer codes), for dev accuracy. */
  answers: string[];
  /** Index of `answer` in `answers`. */
  gold: number;
}

export interface RenderOptions {
  relationSet: RelationSet;
  template: PromptTemplate;
  space: AnswerSpace;
  direction: DirectionMode;
  answerCodes?: boolean;
  /** RAG-trained adapters: demonstrations retrieved as extraction retrieves them. */
  retriever?: ExampleRetriever;
  k?: number;
}

/** Renders each pair as extraction would prompt it, with the answer the curated data gives. */
export async function* renderTrainingExamples(
  pairs: TrainingPair[],
  opts: RenderOptions,
): AsyncGenerator<RenderedExample> {
  const coded = opts.answerCodes ? answerCodes(opts.space) : undefined;
  const answers = coded ? coded.codes : opts.space.answers;
  for (const p of pairs) {
    const plain = opts.space.encode(p.label, p.reversed);
    if (plain === undefined)
      throw new Error(
        `record ${p.record.id}: no answer for ${p.label ?? 'no relation'} in relation set ${opts.relationSet.name}`,
      );
    const answer = coded ? coded.codeOf.get(plain)! : plain;
    const examples = opts.retriever
      ? await opts.retriever.retrieve(p.record, p.head, p.tail, opts.k ?? 5)
      : [];
    const prompt = pairPrompt(p.record, p.head, p.tail, {
      relationSet: opts.relationSet,
      template: opts.template,
      direction: opts.direction,
      answerCodes: opts.answerCodes,
      examples,
    });
    yield { pair: p, prompt, answer, answers, gold: answers.indexOf(answer) };
  }
}
