/**
 * Planning the prompts of a document (LMRC): k pairs per prompt, cut down to a window of the
 * sentences holding the pairs' mentions when the whole text does not fit, and the grammar that
 * constrains each prompt's answer to its pairs and the relation set.
 */
import { Entity, RelRecord, mentionSentence } from '../schema';
import { NONE_ANSWER } from '../prompts/views';
import { gbnfLiteral as gbnfString } from '../util/gbnf';

/** Sentences that hold a mention of any of the entities (sorted). */
function sentencesOf(record: RelRecord, entities: Entity[]): number[] {
  const s = new Set<number>();
  for (const e of entities) for (const m of e.mentions) s.add(mentionSentence(record, m));
  return [...s].sort((a, b) => a - b);
}

/**
 * The text of some sentences, with "…" where sentences were left out; `numbered`: each sentence
 * after its number in the document ("[3] …"), the numbers evidence refers to.
 */
export function windowText(record: RelRecord, sentences: number[], numbered = false): string {
  const spans = record.sentences ?? [{ start: 0, end: record.text.length }];
  let out = '';
  let prev = -1;
  for (const i of sentences) {
    const sp = spans[i];
    if (!sp) continue;
    if (out) out += i === prev + 1 ? ' ' : ' … ';
    else if (i > 0) out += '… ';
    if (numbered) out += `[${i}] `;
    out += record.text.slice(sp.start, sp.end);
    prev = i;
  }
  if (prev >= 0 && prev < spans.length - 1) out += ' …';
  return out;
}

export interface DocBatch {
  pairs: Array<[string, string]>;
  text: string;
  /** Sentence indices of the window, when the text is not the whole document. */
  window?: number[];
}

/**
 * The answer grammar of one prompt: for each of the prompt's pairs, in order, one to
 * `maxPerPair` lines `(head| relation| tail)` with a relation from the set (or None). Every
 * pair gets an answer and generation ends after the last one. With `evidence` (the sentence
 * numbers the prompt shows), a relation line ends with one to five of them:
 * `(head| relation| tail| 0, 3)`; a None line has none.
 */
export function answerGrammar(
  pairs: Array<[string, string]>,
  relations: string[],
  maxPerPair: number,
  evidence?: number[],
): string {
  const withEvidence = !!evidence?.length;
  const rels = withEvidence ? relations.filter((r) => r !== NONE_ANSWER) : relations;
  const rules = [
    `root ::= ${pairs.map((_, i) => `p${i}`).join(' ')}`,
    `rel ::= ${rels.map(gbnfString).join(' | ')}`,
  ];
  if (withEvidence)
    rules.push(
      `sid ::= ${[...new Set(evidence)]
        .sort((a, b) => b - a)
        .map((n) => gbnfString(String(n)))
        .join(' | ')}`,
      'ev ::= "| " sid (", " sid){0,4}',
    );
  const noneLine = withEvidence && relations.includes(NONE_ANSWER);
  pairs.forEach(([h, t], i) => {
    rules.push(`p${i} ::= l${i}${maxPerPair > 1 ? `{1,${maxPerPair}}` : ''}`);
    if (!withEvidence)
      rules.push(`l${i} ::= ${gbnfString(`(${h}| `)} rel ${gbnfString(`| ${t})\n`)}`);
    else
      rules.push(
        `l${i} ::= ${gbnfString(`(${h}| `)} (rel ${gbnfString(`| ${t}`)} ev ${gbnfString(')\n')}${noneLine ? ` | ${gbnfString(`${NONE_ANSWER}| ${t})\n`)}` : ''})`,
      );
  });
  return rules.join('\n');
}

/**
 * The answer of one prompt as a JSON schema, for engines constrained by JSON schemas only
 * (Ollama, OpenAI): `{"relations": [{"head", "relation", "tail"[, "evidence"]}, …]}` where each
 * item is one of the prompt's pairs (head and tail fixed together) with a relation from the set
 * (or None). Unlike the grammar it cannot make every pair answer, in order; the aligner reads
 * what comes back the same way, through `jsonAnswerLines`.
 */
export function answerSchema(
  pairs: Array<[string, string]>,
  relations: string[],
  maxPerPair: number,
  evidence?: number[],
): Record<string, unknown> {
  const withEvidence = !!evidence?.length;
  const item = ([h, t]: [string, string]) => ({
    type: 'object',
    properties: {
      head: { type: 'string', enum: [h] },
      relation: { type: 'string', enum: relations },
      tail: { type: 'string', enum: [t] },
      ...(withEvidence
        ? {
            evidence: {
              type: 'array',
              items: { type: 'integer', enum: [...new Set(evidence)].sort((a, b) => a - b) },
              maxItems: 5,
            },
          }
        : {}),
    },
    required: ['head', 'relation', 'tail'],
    additionalProperties: false,
  });
  const unique = [...new Map(pairs.map((p) => [JSON.stringify(p), p])).values()];
  return {
    type: 'object',
    properties: {
      relations: {
        type: 'array',
        items: unique.length === 1 ? item(unique[0]!) : { anyOf: unique.map(item) },
        maxItems: pairs.length * maxPerPair,
      },
    },
    required: ['relations'],
    additionalProperties: false,
  };
}

/**
 * A JSON answer (`answerSchema`) as the `(head| relation| tail[| evidence])` lines the aligner
 * reads; an answer cut off at the token limit gives its complete items; text that is not such
 * JSON is returned as it is (the aligner then counts what it cannot read).
 */
export function jsonAnswerLines(text: string): string {
  let items: unknown;
  try {
    items = (JSON.parse(text) as { relations?: unknown })?.relations;
  } catch {
    // Cut off at the token limit: the complete items before the cut still count.
    if (!/^\s*\{\s*"relations"\s*:\s*\[/.test(text)) return text;
    items = [...text.matchAll(/\{[^{}]*\}/g)].flatMap((m) => {
      try {
        return [JSON.parse(m[0]) as unknown];
      } catch {
        return [];
      }
    });
  }
  if (!Array.isArray(items)) return text;
  return items
    .map((x: unknown) => {
      const o = (x ?? {}) as Record<string, unknown>;
      const [h, r, t] = [o['head'], o['relation'], o['tail']].map((f) =>
        typeof f === 'string' ? f : '',
      );
      const ev = Array.isArray(o['evidence']) ? o['evidence'].filter(Number.isInteger) : [];
      return `(${h}| ${r}| ${t}${ev.length ? `| ${ev.join(', ')}` : ''})\n`;
    })
    .join('');
}

/** Splits kept pairs into prompts of k pairs, windowed or split further when a prompt does not fit. */
export async function planBatches(
  record: RelRecord,
  pairs: Array<[string, string]>,
  k: number,
  fits: (b: DocBatch) => boolean | Promise<boolean>,
  numbered = false,
): Promise<{ batches: DocBatch[]; unfit: Array<[string, string]> }> {
  const all = (record.sentences ?? []).map((_, i) => i);
  const text = (sents: number[]) => windowText(record, sents, numbered);
  const byId = new Map(record.entities.map((e) => [e.id, e]));
  const batches: DocBatch[] = [];
  const unfit: Array<[string, string]> = [];
  const place = async (ps: Array<[string, string]>): Promise<void> => {
    const whole: DocBatch = { pairs: ps, text: numbered && all.length ? text(all) : record.text };
    if (await fits(whole)) return void batches.push(whole);
    const ents = [...new Set(ps.flat())].map((id) => byId.get(id)!).filter(Boolean);
    const sents = sentencesOf(record, ents);
    const windowed: DocBatch = { pairs: ps, text: text(sents), window: sents };
    if (record.sentences?.length && (await fits(windowed))) return void batches.push(windowed);
    if (ps.length > 1) {
      const mid = Math.ceil(ps.length / 2);
      await place(ps.slice(0, mid));
      await place(ps.slice(mid));
      return;
    }
    // One pair that still does not fit: the closest pair of sentences holding its two entities.
    const [h, t] = ps[0]!.map((id) => byId.get(id)!);
    if (h && t && record.sentences?.length) {
      let best: [number, number] | undefined;
      for (const a of sentencesOf(record, [h]))
        for (const b of sentencesOf(record, [t]))
          if (!best || Math.abs(a - b) < Math.abs(best[0] - best[1])) best = [a, b];
      if (best) {
        const s = [...new Set(best)].sort((x, y) => x - y);
        const tight: DocBatch = { pairs: ps, text: text(s), window: s };
        if (await fits(tight)) return void batches.push(tight);
      }
    }
    unfit.push(ps[0]!);
  };
  for (let i = 0; i < pairs.length; i += k) await place(pairs.slice(i, i + k));
  return { batches, unfit };
}
