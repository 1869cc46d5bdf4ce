/**
 * How relation labels show to a curator. A relation set whose labels carry ids (DocRED's
 * Wikidata properties: `P577` → "publication date") shows the names wherever a label appears
 * — record view, inline triples, hovers, filters, picks — with the id beside it in tooltips; the
 * file keeps what its format stores (ids stay ids).
 */
import { RelRecord, RelationLabel, RelationSet } from '../schema';

/** The names of a set's labels by id (empty when its labels carry no other id). */
export function labelNames(rs: RelationSet | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of rs?.labels ?? []) if (l.id && l.id !== l.name) out[l.id] = l.name;
  return out;
}

/** A label as a person reads it: its name when the set gives its id one, else as it is. */
export function labelNamer(rs: RelationSet | undefined): (label: string) => string {
  const names = labelNames(rs);
  return (label) => (Object.hasOwn(names, label) ? names[label]! : label);
}

/**
 * The form a record stores a label picked by name in: the set's id when the record's relations
 * are written with ids (a DocRED file imported without rel_info.json), else the name.
 */
export function storedLabel(
  rs: RelationSet | undefined,
  record: Pick<RelRecord, 'relations'>,
): (name: string) => string {
  const ids = new Map<string, string>();
  for (const l of rs?.labels ?? []) if (l.id && l.id !== l.name) ids.set(l.name, l.id);
  const usesIds = record.relations.some((x) => [...ids.values()].includes(x.label));
  return (name) => (usesIds ? (ids.get(name) ?? name) : name);
}

/** The set's label a relation label names (by name, or by id). */
export function labelInfo(rs: RelationSet | undefined, label: string): RelationLabel | undefined {
  return rs?.labels.find((l) => l.name === label || (l.id !== undefined && l.id === label));
}

/** Markdown as one line of plain text (a quick pick's detail), at most `max` characters. */
export function plainText(markdown: string, max = 240): string {
  const t = markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+/gm, '')
    .replace(/[*_`~]+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return t.length > max ? `${t.slice(0, max - 1).trimEnd()}…` : t;
}

/**
 * What a label pick shows under a label (the guideline at hand): its description, its examples
 * and the start of its guideline, on one line; undefined when the set says nothing of it.
 */
export function labelDetail(l: RelationLabel | undefined): string | undefined {
  if (!l) return undefined;
  const parts = [
    l.description ?? '',
    l.examples?.length ? `e.g. ${l.examples.map((e) => `“${e}”`).join(' ')}` : '',
    l.guideline ? plainText(l.guideline) : '',
  ].filter(Boolean);
  return parts.length ? plainText(parts.join(' — '), 400) : undefined;
}

/**
 * The guidelines of these labels as Markdown (the relation set's own text: a hover shows it as
 * untrusted Markdown, no command links): each label's name, description, examples and guideline.
 */
export function guidelinesMarkdown(rs: RelationSet | undefined, labels: string[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const label of labels) {
    const l = labelInfo(rs, label);
    if (!l || seen.has(l.name) || !(l.description || l.examples?.length || l.guideline)) continue;
    seen.add(l.name);
    const head = `**${l.name}**${l.id && l.id !== l.name ? ` (${l.id})` : ''}`;
    out.push(`${head}${l.description ? `: ${l.description}` : ''}`);
    if (l.examples?.length) out.push(l.examples.map((e) => `- _${e}_`).join('\n'));
    if (l.guideline) out.push(l.guideline.trim());
  }
  return out.join('\n\n');
}
