/**
 * OpenAI batch files, for extraction at internet scale offline: the sentence-level prompts of a
 * dataset as a batch input JSONL (one `/v1/chat/completions` request per entity pair, with the
 * constraint fields of the chosen serving engine) that `vllm run-batch` or a batch API consumes,
 * and the results read back into canonical predictions with the same answer checks and
 * prediction merge as live runs.
 *
 * A request's custom_id is `JSON.stringify([recordId, head, tail])`. The settings needed to read
 * the answers (relation set, direction, answer form, flavor) travel in a manifest beside the
 * batch file (`BATCH.manifest.json`), written by export and read by import.
 */
import { InputError } from '../diagnostics';
import { PairPrediction, applyPredictions, pairPrompt } from '../pipelines/sentence';
import { PromptTemplate } from '../prompts/template';
import { ServerFlavor } from '../ports';
import { RelRecord, RelationSet, candidatePairs } from '../schema';
import { choiceFields } from '../serving';
import { AnswerSpace, DirectionMode, answerCodes, answerSpace } from '../pipelines/answerSpace';

export interface BatchManifest {
  kind: 'relation-lens/openai-batch';
  version: 1;
  /** The records the requests were made from (path as given, sha256 of its bytes). */
  input: { path: string; sha256: string; format?: string };
  relationSet: RelationSet;
  template: string;
  direction: DirectionMode;
  answers: 'names' | 'codes';
  flavor: ServerFlavor;
  model: string;
  requests: number;
}

export interface BatchOptions {
  relationSet: RelationSet;
  template: PromptTemplate;
  direction: DirectionMode;
  answerCodes: boolean;
  flavor: ServerFlavor;
  model: string;
}

function answersOf(
  space: AnswerSpace,
  codes: boolean,
): { asked: string[]; toAnswer: (a: string) => string } {
  if (!codes) return { asked: space.answers, toAnswer: (a) => a };
  const c = answerCodes(space);
  return { asked: c.codes, toAnswer: (a) => c.answerOf.get(a)! };
}

/** One request line per candidate pair, in record order. */
export function batchRequests(records: RelRecord[], opts: BatchOptions): string[] {
  const space = answerSpace(opts.relationSet, opts.direction);
  const { asked } = answersOf(space, opts.answerCodes);
  const f = choiceFields(opts.flavor, asked);
  const maxTokens = Math.max(...asked.map((a) => a.length)) + 16;
  const lines: string[] = [];
  for (const r of records) {
    for (const [h, t] of candidatePairs(r)) {
      const head = r.entities.find((e) => e.id === h)!;
      const tail = r.entities.find((e) => e.id === t)!;
      const p = pairPrompt(r, head, tail, {
        relationSet: opts.relationSet,
        template: opts.template,
        direction: opts.direction,
        answerCodes: opts.answerCodes,
      });
      const messages = [
        ...(p.system !== undefined ? [{ role: 'system', content: p.system }] : []),
        { role: 'user', content: p.user },
      ];
      lines.push(
        JSON.stringify({
          custom_id: JSON.stringify([r.id, h, t]),
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: opts.model, messages, temperature: 0, max_tokens: maxTokens, ...f.fields },
        }),
      );
    }
  }
  return lines;
}

interface ResultLine {
  custom_id?: unknown;
  response?: {
    status_code?: number;
    body?: { choices?: Array<{ message?: { content?: string | null } }> };
  } | null;
  error?: { message?: string; code?: string } | null;
}

export interface BatchImport {
  records: RelRecord[];
  answered: number;
  /** Per-pair problems: HTTP errors, answers outside the set, unknown custom_ids, malformed lines. */
  errors: string[];
  /** Pairs of the input with no result line. */
  missing: number;
}

/**
 * Reads batch results (`file` names them in messages) into the input records: each answered pair
 * gets its prediction exactly as a live run writes it; errors are per pair and named by line.
 */
/** A result line and the record id and pair its custom_id names; a string says what is wrong (file:line). */
function parseResultLine(
  line: string,
  where: string,
): { r: ResultLine; id: string; h: string; t: string } | string {
  let r: ResultLine;
  try {
    r = JSON.parse(line) as ResultLine;
  } catch {
    return `${where}: not JSON`;
  }
  try {
    const [id, h, t] = JSON.parse(String(r.custom_id)) as [string, string, string];
    return { r, id, h, t };
  } catch {
    return `${where}: custom_id ${JSON.stringify(r.custom_id)} was not written by relation-lens export --format openai-batch`;
  }
}

export function importBatchResults(
  text: string,
  file: string,
  records: RelRecord[],
  m: BatchManifest,
): BatchImport {
  const space = answerSpace(m.relationSet, m.direction);
  const { asked, toAnswer } = answersOf(space, m.answers === 'codes');
  const read = choiceFields(m.flavor, asked).read;
  const byRecord = new Map(
    records.map((r) => [
      r.id,
      {
        record: r,
        pairs: new Set(candidatePairs(r).map((p) => JSON.stringify(p))),
        preds: [] as PairPrediction[],
      },
    ]),
  );
  const errors: string[] = [];
  let answered = 0;
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    const parsed = parseResultLine(line, where);
    if (typeof parsed === 'string') return void errors.push(parsed);
    const { r, id, h, t } = parsed;
    const rec = byRecord.get(id);
    if (!rec || !rec.pairs.has(JSON.stringify([h, t]))) {
      errors.push(`${where}: record ${id}, pair ${h},${t} is not in ${m.input.path}`);
      return;
    }
    const key = JSON.stringify([id, h, t]);
    if (seen.has(key)) {
      errors.push(`${where}: a second result for record ${id}, pair ${h},${t} (the first is kept)`);
      return;
    }
    seen.add(key);
    const base = {
      recordId: id,
      pair: [h, t] as [string, string],
      promptTokens: 0,
      reusedTokens: 0,
      confidence: null,
    };
    const status = r.response?.status_code;
    const content = r.response?.body?.choices?.[0]?.message?.content;
    if (r.error || (status !== undefined && status !== 200) || typeof content !== 'string') {
      const why =
        r.error?.message ??
        (status !== undefined && status !== 200 ? `HTTP ${status}` : 'no answer in the result');
      errors.push(`${where}: record ${id}, pair ${h},${t}: ${why}`);
      rec.preds.push({ ...base, answer: '', error: `record ${id}, pair ${h},${t}: ${why}` });
      return;
    }
    const a = read(content.trim());
    if (!asked.includes(a)) {
      const why = `the server answered ${JSON.stringify(a.slice(0, 80))}, which is not in the relation set (was the constraint field applied? flavor ${m.flavor})`;
      errors.push(`${where}: record ${id}, pair ${h},${t}: ${why}`);
      rec.preds.push({ ...base, answer: '', error: `record ${id}, pair ${h},${t}: ${why}` });
      return;
    }
    answered++;
    rec.preds.push({ ...base, answer: toAnswer(a) });
  });
  let missing = 0;
  const out = records.map((r) => {
    const e = byRecord.get(r.id)!;
    missing += e.pairs.size - e.preds.length;
    return e.preds.length ? applyPredictions(r, e.preds, space, { model: m.model }) : r;
  });
  return { records: out, answered, errors, missing };
}

export function parseBatchManifest(text: string, file: string): BatchManifest {
  let m: BatchManifest;
  try {
    m = JSON.parse(text) as BatchManifest;
  } catch {
    throw new InputError(
      'not JSON (expected the manifest relation-lens export --format openai-batch writes)',
      file,
    );
  }
  if (m.kind !== 'relation-lens/openai-batch' || m.version !== 1)
    throw new InputError('not a relation-lens openai-batch manifest', file);
  return m;
}
