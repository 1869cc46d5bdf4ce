/**
 * How relation labels show to a curator. A relation set whose labels carry ids (DocRED's
 * Wikidata properties: `P577` → "publication date") shows the names wherever a label appears
 * — record view, inline triples, hovers, filters, picks — with the id beside it in tooltips; the
 * file keeps what its format stores (ids stay ids).
 */
import { RelRecord, RelationSet } from '../schema';

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
