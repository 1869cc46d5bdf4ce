/**
 * The answer space of sentence-level classification: the strings the model may answer for a
 * relation set and direction mode, how they map back to (label, direction), and the one-token
 * answer codes listed with the names.
 */
import { NO_RELATION_DESCRIPTION } from '../prompts/views';
import { RelationSet } from '../schema';

export type DirectionMode = 'label' | 'pair';

/** Single-character answer codes: A–Z, then a–z (one token in common tokenizers). */
export const ANSWER_CODES = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'];

/** The coded view of an answer space: code ↔ answer, and the prompt's relation list. */
export function answerCodes(space: AnswerSpace): {
  codes: string[];
  codeOf: Map<string, string>;
  answerOf: Map<string, string>;
  relations: AnswerSpace['relations'];
} {
  if (space.answers.length > ANSWER_CODES.length)
    throw new Error(
      `answer codes support up to ${ANSWER_CODES.length} answers, the set has ${space.answers.length}`,
    );
  const codes = space.answers.map((_, i) => ANSWER_CODES[i]!);
  const codeOf = new Map(space.answers.map((a, i) => [a, codes[i]!]));
  const answerOf = new Map(space.answers.map((a, i) => [codes[i]!, a]));
  const relations = space.relations.map((r, i) => ({
    name: codes[i]!,
    description: r.description ? `${r.name} (${r.description.replace(/\.$/, '')})` : r.name,
  }));
  return { codes, codeOf, answerOf, relations };
}

/** SemEval-style sets answer with directed labels; the others take the pair order as head → tail. */
export function defaultDirection(rs: RelationSet): DirectionMode {
  return /semeval/i.test(rs.name) ? 'label' : 'pair';
}

export interface AnswerSpace {
  answers: string[];
  /** Answer → (label, reversed); null for the no-relation answer. */
  decode(answer: string): { label: string; reversed: boolean } | null;
  /** (label, reversed) → answer; null label → the no-relation answer (or undefined when the set has none). */
  encode(label: string | null, reversed: boolean): string | undefined;
  /** Descriptions for the prompt's relation list, by answer. */
  relations: Array<{ name: string; description: string }>;
}

const ROLE_PAIR = /^([^\s()-]+)-([^\s()-]+)$/;

/**
 * The answers the model may give, from the relation set and the direction mode. With
 * `direction: "label"`, a directed label `X-Y` whose roles can be swapped (SemEval's
 * `Cause-Effect`) is answered `X-Y` for head→tail and `Y-X` for the reverse ("the head is the
 * effect, the tail the cause") — three times fewer tokens than `Cause-Effect(e2,e1)`; other
 * directed labels get `(e1,e2)` / `(e2,e1)` suffixes. Both map back to the label and direction
 * exactly.
 */
export function answerSpace(rs: RelationSet, direction: DirectionMode): AnswerSpace {
  const answers: string[] = [];
  const relations: AnswerSpace['relations'] = [];
  const map = new Map<string, { label: string; reversed: boolean } | null>();
  const names = new Set(rs.labels.map((l) => l.name));
  if (rs.noRelation) names.add(rs.noRelation);
  const directedLabels = rs.labels.filter((l) => l.directed ?? rs.directed);
  const swapped = (n: string) => n.replace(ROLE_PAIR, '$2-$1');
  const canSwap =
    directedLabels.length > 0 &&
    directedLabels.every(
      (l) => ROLE_PAIR.test(l.name) && swapped(l.name) !== l.name && !names.has(swapped(l.name)),
    ) &&
    new Set(directedLabels.map((l) => swapped(l.name))).size === directedLabels.length;
  const add = (
    answer: string,
    description: string,
    value: { label: string; reversed: boolean } | null,
  ) => {
    if (map.has(answer))
      throw new Error(`relation set ${rs.name}: answer ${JSON.stringify(answer)} is ambiguous`);
    answers.push(answer);
    relations.push({ name: answer, description });
    map.set(answer, value);
  };
  for (const l of rs.labels) {
    const directed = l.directed ?? rs.directed;
    const description = l.description ?? '';
    if (direction === 'label' && directed) {
      if (canSwap) {
        add(l.name, description, { label: l.name, reversed: false });
        add(
          swapped(l.name),
          `the reverse of ${l.name}${description ? ` (${description.replace(/\.$/, '')}, with head and tail swapped)` : ''}`,
          { label: l.name, reversed: true },
        );
      } else {
        add(`${l.name}(e1,e2)`, description, { label: l.name, reversed: false });
        add(`${l.name}(e2,e1)`, description ? `${description} (tail → head)` : 'tail → head', {
          label: l.name,
          reversed: true,
        });
      }
    } else add(l.name, description, { label: l.name, reversed: false });
  }
  if (rs.noRelation) add(rs.noRelation, NO_RELATION_DESCRIPTION, null);
  const inverse = new Map<string, string>();
  for (const [a, v] of map) inverse.set(v ? `${v.label}\u0000${v.reversed}` : '\u0000null', a);
  return {
    answers,
    relations,
    encode: (label, reversed) => {
      if (label === null) return inverse.get('\u0000null');
      return inverse.get(`${label}\u0000${reversed}`) ?? inverse.get(`${label}\u0000false`);
    },
    decode: (a) => {
      if (!map.has(a)) throw new Error(`answer ${JSON.stringify(a)} is not in the answer space`);
      return map.get(a)!;
    },
  };
}
