/**
 * Raw text with no entities (a .txt file, a selection, a note): sentences, LLM-proposed entity
 * mentions, grounding to exact UTF-16 offsets, and merging into entities — the input the
 * document pipeline needs.
 *
 * With a grammar engine the names are constrained to spans of the text. Grounding never
 * invents a span anyway (for engines without grammars): a proposed name is searched in its chunk exactly, then
 * normalized (case, width, Traditional/Simplified Chinese; offsets mapped back to the original
 * text), then fuzzily over word windows of similar length; names that cannot be found are
 * reported as ungrounded.
 */
import * as fuzz from 'fuzzball';
import { ClassifierEngine, ContextOverflowError, throwIfAborted } from '../ports';
import { Entity, Mention, RelRecord, Span, sentenceIndexOf } from '../schema';
import { normalizeName } from './align';
import { gbnfLiteral as gbnfString } from '../util/gbnf';
import { mapLimit } from '../util/mapLimit';

/** Sentence spans of a text (Intl.Segmenter; handles Chinese and other scripts), whitespace trimmed. */
export function splitSentences(text: string, locale?: string): Span[] {
  const seg = new Intl.Segmenter(locale, { granularity: 'sentence' });
  const out: Span[] = [];
  for (const s of seg.segment(text)) {
    let start = s.index;
    let end = s.index + s.segment.length;
    while (start < end && /\s/u.test(text[start]!)) start++;
    while (end > start && /\s/u.test(text[end - 1]!)) end--;
    if (end > start) out.push({ start, end });
  }
  return out;
}

export const DEFAULT_ENTITY_TYPES = ['PER', 'ORG', 'LOC', 'TIME', 'NUM', 'MISC'];

export interface ProposedMention {
  name: string;
  type: string | null;
}

export interface GroundedMention extends ProposedMention {
  start: number;
  end: number;
  how: 'exact' | 'normalized' | 'fuzzy';
}

/** A normalized copy of the text with a map from each normalized code unit to its source offset. */
function normalizedWithMap(text: string): { norm: string; map: number[] } {
  let norm = '';
  const map: number[] = [];
  let i = 0;
  for (const ch of text) {
    const n = normalizeName(ch) || (/\s|\p{P}|\p{S}/u.test(ch) ? ' ' : ch.toLowerCase());
    for (let j = 0; j < n.length; j++) map.push(i);
    norm += n;
    i += ch.length;
  }
  map.push(i);
  return { norm, map };
}

function allIndexes(hay: string, needle: string): number[] {
  const out: number[] = [];
  if (!needle) return out;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) out.push(i);
  return out;
}

const isWordChar = (c: string | undefined) =>
  c !== undefined && /[\p{L}\p{N}]/u.test(c) && !/\p{Script=Han}/u.test(c);

/**
 * Grounds proposed names in `text[span]`: every occurrence (whole words for alphabetic names).
 * Returns grounded mentions and the names that could not be found.
 */
export function groundMentions(
  text: string,
  span: Span,
  proposals: ProposedMention[],
  fuzzyThreshold = 85,
): { mentions: GroundedMention[]; ungrounded: ProposedMention[] } {
  const chunk = text.slice(span.start, span.end);
  const mentions: GroundedMention[] = [];
  const ungrounded: ProposedMention[] = [];
  let normed: ReturnType<typeof normalizedWithMap> | undefined;
  for (const p of proposals) {
    const name = p.name.trim();
    if (!name) continue;
    // Alphabetic names match whole words only ("Ann" is not in "Annual").
    const exact = allIndexes(chunk, name).filter(
      (i) =>
        (!isWordChar(name[0]) || !isWordChar(chunk[i - 1])) &&
        (!isWordChar(name[name.length - 1]) || !isWordChar(chunk[i + name.length])),
    );
    if (exact.length) {
      for (const i of exact)
        mentions.push({
          ...p,
          name,
          start: span.start + i,
          end: span.start + i + name.length,
          how: 'exact',
        });
      continue;
    }
    normed ??= normalizedWithMap(chunk);
    const nn = normalizeName(name);
    const hits = nn ? allIndexes(normed.norm, nn) : [];
    if (hits.length) {
      for (const i of hits) {
        const a = normed.map[i]!;
        const b =
          normed.map[i + nn.length - 1]! +
          (chunk.codePointAt(normed.map[i + nn.length - 1]!)! > 0xffff ? 2 : 1);
        mentions.push({
          ...p,
          name: chunk.slice(a, b),
          start: span.start + a,
          end: span.start + b,
          how: 'normalized',
        });
      }
      continue;
    }
    // Fuzzy: the best window of words (or characters, for CJK) of about the name's length.
    const cjk = /\p{Script=Han}/u.test(name);
    const units = cjk
      ? [...chunk.matchAll(/\S/gu)]
      : [...chunk.matchAll(/[\p{L}\p{N}](?:[\p{L}\p{N}'’.-]*[\p{L}\p{N}])?/gu)];
    const len = cjk ? [...name.replace(/\s/gu, '')].length : name.split(/\s+/u).length;
    let best: { score: number; a: number; b: number } | undefined;
    for (let w = Math.max(1, len - 1); w <= len + 1; w++)
      for (let i = 0; i + w <= units.length; i++) {
        const a = units[i]!.index!;
        const last = units[i + w - 1]!;
        const b = last.index! + last[0].length;
        const s = fuzz.ratio(normalizeName(name), normalizeName(chunk.slice(a, b)), {
          full_process: false,
        });
        if (!best || s > best.score) best = { score: s, a, b };
      }
    if (best && best.score >= fuzzyThreshold)
      mentions.push({
        ...p,
        name: chunk.slice(best.a, best.b),
        start: span.start + best.a,
        end: span.start + best.b,
        how: 'fuzzy',
      });
    else ungrounded.push(p);
  }
  return { mentions, ungrounded };
}

/**
 * Merges grounded mentions into entities: same normalized name (and type, when both have one)
 * → one entity. Overlapping mentions keep the longer one. Entities are ordered by first mention.
 */
export function mergeEntities(
  text: string,
  mentions: GroundedMention[],
  sentences: Span[],
): Entity[] {
  const sorted = [...mentions].sort(
    (a, b) => a.start - b.start || b.end - b.start - (a.end - a.start),
  );
  const kept: GroundedMention[] = [];
  for (const m of sorted) {
    const prev = kept[kept.length - 1];
    if (prev && m.start < prev.end) continue; // overlaps a longer or earlier mention
    kept.push(m);
  }
  const byKey = new Map<
    string,
    { name: string; type: string | null; mentions: Mention[]; seen: Set<number> }
  >();
  for (const m of kept) {
    const key = normalizeName(m.name);
    let e = byKey.get(key);
    if (!e)
      byKey.set(
        key,
        (e = { name: text.slice(m.start, m.end), type: m.type, mentions: [], seen: new Set() }),
      );
    if (e.seen.has(m.start)) continue;
    e.seen.add(m.start);
    const shown = text.slice(m.start, m.end);
    const mention: Mention = {
      start: m.start,
      end: m.end,
      sent: sentenceIndexOf({ sentences }, m.start),
    };
    if (shown !== e.name) mention.name = shown;
    if (m.type && e.type && m.type !== e.type) mention.type = m.type;
    e.type ??= m.type;
    e.mentions.push(mention);
  }
  return [...byKey.values()].map((e, i) => ({
    id: `e${i}`,
    name: e.name,
    type: e.type,
    mentions: e.mentions,
  }));
}

/** A report of the entity stage before anything was proposed. */
export function emptyEntityProposalReport(chunks: number): EntityProposalReport {
  return {
    chunks,
    proposed: 0,
    grounded: {},
    ungrounded: [],
    malformedOutputs: 0,
    truncatedOutputs: 0,
    promptTokens: 0,
    generatedTokens: 0,
    errors: [],
  };
}

export interface EntityProposalReport {
  chunks: number;
  proposed: number;
  grounded: Record<string, number>;
  ungrounded: Array<{ chunk: number; name: string }>;
  malformedOutputs: number;
  truncatedOutputs: number;
  promptTokens: number;
  generatedTokens: number;
  errors: string[];
}

/**
 * The entity list as a grammar: JSON `{"entities": [{"name": "…", "type": "…"}, …]}` with the
 * types from the set, at most `maxItems` items and names of at most 80 characters — a JSON
 * schema with bounds that llama.cpp's schema converter does not enforce, so a model that
 * repeats itself still ends.
 */
export function entityGrammar(types: string[], maxItems = 24, text?: string): string {
  const type = types.length ? types.map((t) => gbnfString(gbnfString(t))).join(' | ') : 'str';
  const span = text ? spanRules(text) : undefined;
  return [
    `root ::= "{\\"entities\\": [" (item (", " item){0,${Math.max(0, maxItems - 1)}})? "]}"`,
    `item ::= "{\\"name\\": " name ", \\"type\\": " type "}"`,
    ...(span ?? [`name ::= "\\"" char{1,80} "\\""`]),
    `str ::= "\\"" char{1,40} "\\""`,
    `char ::= [^"\\\\\\x00-\\x1f] | "\\\\" ["\\\\/bfnrt]`,
    `type ::= ${type}`,
  ].join('\n');
}

/**
 * Names that are spans of the text: a name starts at any word (any character, for CJK) and
 * continues with the following words, across the text's own separators (spaces, hyphens,
 * apostrophes — not sentence punctuation), so every proposed name is found verbatim.
 */
function spanRules(text: string): string[] | undefined {
  const units = [
    ...text.matchAll(
      /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|[\p{L}\p{N}](?:[\p{L}\p{N}'’.&-]*[\p{L}\p{N}])?/gu,
    ),
  ];
  if (!units.length) return undefined;
  const rules: string[] = [];
  const starts: string[] = [];
  units.forEach((u, i) => {
    const next = units[i + 1];
    const gap = next ? text.slice(u.index! + u[0].length, next.index) : undefined;
    const joinable = gap !== undefined && /^(?:[ \t]?|[ \t]?[-–'’&][ \t]?)$/u.test(gap);
    // Units hold letters, digits and ' ’ . & - only: nothing to escape in a GBNF string.
    rules.push(
      `s${i} ::= ${gbnfString(u[0])}${joinable ? ` (${gbnfString(gap!)} s${i + 1})?` : ''}`,
    );
    starts.push(`s${i}`);
  });
  return [`name ::= "\\"" (${starts.join(' | ')}) "\\""`, ...rules];
}

/**
 * Reads the model's entity list leniently: the JSON when it parses, otherwise every complete
 * `{"name": …, "type": …}` object in it (a truncated list keeps its complete items).
 */
export function parseEntityList(output: string): { items: ProposedMention[]; malformed: boolean } {
  const items: ProposedMention[] = [];
  try {
    const v = JSON.parse(output) as { entities?: Array<{ name?: unknown; type?: unknown }> };
    for (const e of Array.isArray(v.entities) ? v.entities : [])
      if (typeof e?.name === 'string')
        items.push({ name: e.name, type: typeof e.type === 'string' ? e.type : null });
    return { items: dedupe(items), malformed: false };
  } catch {
    for (const m of output.matchAll(
      /\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"type"\s*:\s*("(?:[^"\\]|\\.)*")\s*\}/gu,
    )) {
      try {
        items.push({ name: JSON.parse(m[1]!) as string, type: JSON.parse(m[2]!) as string });
      } catch {
        // an item with a broken escape: skip it
      }
    }
    return { items: dedupe(items), malformed: items.length === 0 };
  }
}

function dedupe(items: ProposedMention[]): ProposedMention[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = `${i.name}\u0000${i.type}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Groups sentences into chunks of at most `maxChars` characters (a sentence longer than that is its own chunk). */
export function chunkSentences(sentences: Span[], maxChars: number): Span[][] {
  const out: Span[][] = [];
  let cur: Span[] = [];
  for (const s of sentences) {
    if (cur.length && s.end - cur[0]!.start > maxChars) {
      out.push(cur);
      cur = [];
    }
    cur.push(s);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The entity prompt: the task, the types, and one worked example (small models need it). */
const ENTITY_INSTRUCTION = (types: string[]) =>
  [
    `List every named entity mentioned in the text with its type (one of ${types.join(', ')}). Copy each name exactly as it is written in the text; list each entity once.`,
    '',
    'Example text: Steve Jobs founded Apple in California in 1976.',
    `Example answer: {"entities": [${[
      ['Steve Jobs', 'PER'],
      ['Apple', 'ORG'],
      ['California', 'LOC'],
      ['1976', 'TIME'],
    ]
      .filter(([, t]) => types.includes(t!))
      .map(([n, t]) => `{"name": "${n}", "type": "${t}"}`)
      .join(', ')}]}`,
  ].join('\n');

/**
 * Turns raw text into a document record: sentences, LLM-proposed entities (JSON-schema
 * constrained), grounded and merged. No relations yet.
 */
export async function proposeEntities(
  engine: ClassifierEngine,
  id: string,
  text: string,
  opts: {
    types?: string[];
    maxChunkChars?: number;
    fuzzyThreshold?: number;
    signal?: AbortSignal;
    locale?: string;
  } = {},
): Promise<{ record: RelRecord; report: EntityProposalReport }> {
  const types = opts.types?.length ? opts.types : DEFAULT_ENTITY_TYPES;
  const sentences = splitSentences(text, opts.locale);
  const chunks = chunkSentences(sentences, opts.maxChunkChars ?? 1200);
  const report = emptyEntityProposalReport(chunks.length);

  const all: GroundedMention[] = [];
  const results = await mapLimit(chunks, engine.info.parallel, async (ch, ci) => {
    throwIfAborted(opts.signal);
    const span = { start: ch[0]!.start, end: ch[ch.length - 1]!.end };
    const prompt = {
      system: 'You are an expert annotator of named entities.',
      user: `${ENTITY_INSTRUCTION(types)}\n\nText: ${text.slice(span.start, span.end)}`,
    };
    try {
      return await engine.withPrompt(
        prompt,
        async (s) => {
          report.promptTokens += s.promptTokens;
          // Names are constrained to spans of the chunk, so they ground exactly.
          const g = await s.generateWithGrammar(
            { gbnf: entityGrammar(types, 24, text.slice(span.start, span.end)) },
            768,
          );
          report.generatedTokens += g.tokens;
          if (g.truncated) report.truncatedOutputs++;
          return { ci, span, text: g.text };
        },
        opts.signal,
        768,
      );
    } catch (err) {
      if (!(err instanceof ContextOverflowError)) throw err;
      report.errors.push(`chunk ${ci}: ${err.message}`);
      return null;
    }
  });
  for (const r of results) {
    if (!r) continue;
    const { items: list, malformed } = parseEntityList(r.text);
    if (malformed) {
      report.malformedOutputs++;
      continue;
    }
    report.proposed += list.length;
    const g = groundMentions(text, r.span, list, opts.fuzzyThreshold ?? 85);
    for (const m of g.mentions) report.grounded[m.how] = (report.grounded[m.how] ?? 0) + 1;
    for (const u of g.ungrounded) report.ungrounded.push({ chunk: r.ci, name: u.name });
    all.push(...g.mentions);
  }
  const entities = mergeEntities(text, all, sentences);
  return {
    record: { id, text, entities, relations: [], sentences, meta: { entitiesProposedBy: 'llm' } },
    report,
  };
}
