/**
 * The hover of a record line as Markdown. The hover is trusted for three commands (Show Prompt,
 * Accept, Reject), so every string that comes from the file — record id, labels, model names,
 * adapters, neighbour ids, evidence — is escaped: a crafted JSONL cannot add links, command URIs,
 * icons or HTML of its own. Non-numbers where numbers belong are shown as text, never thrown on.
 */
import { evidenceQuotes } from '../curation';
import { RelRecord } from '../schema';
import { LineDecorations } from './lineDecorations';

/** Escapes text for Markdown (CommonMark punctuation, theme icons `$(…)`, line breaks, HTML). */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/[\\`*_{}[\]()<>#+\-.!|~$&:"']/g, (c) => `\\${c}`)
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(/\p{Cc}/gu, ' ');
}

const icon = (status: string) =>
  status === 'agree'
    ? 'pass'
    : status === 'extra'
      ? 'error'
      : status === 'wrong-label'
        ? 'warning'
        : status === 'missing'
          ? 'circle-slash'
          : 'symbol-event';

/** A probability from the file: three decimals when it is a finite number, else the escaped value. */
function prob(p: unknown): string {
  return typeof p === 'number' && Number.isFinite(p)
    ? p.toFixed(3)
    : escapeMarkdown(JSON.stringify(p) ?? String(p));
}

/** `meta.top` as text: [[label, p], …]; anything else in it is shown escaped. */
function topList(top: unknown[]): string {
  return top
    .map((x) =>
      Array.isArray(x)
        ? `${escapeMarkdown(String(x[0]))} ${prob(x[1])}`
        : escapeMarkdown(JSON.stringify(x) ?? ''),
    )
    .join(', ');
}

/**
 * The hover Markdown of one record line. `commandArgs(relation)` gives the URI-encoded argument
 * of the curation links for a model relation (the host's own values, not the file's).
 */
export function recordHoverMarkdown(
  record: RelRecord,
  d: LineDecorations,
  commandArgs: (relation: number) => string,
): string {
  const out: string[] = [`**Relation Lens** — record ${escapeMarkdown(record.id)}\n\n`];
  for (const t of d.triples) {
    const rel = t.relation >= 0 ? record.relations[t.relation] : undefined;
    const meta = (rel?.meta ?? {}) as Record<string, unknown>;
    out.push(`- $(${icon(t.status)}) ${escapeMarkdown(t.text)}`);
    out.push(
      ` — _${escapeMarkdown([t.status, rel?.source, rel?.status].filter(Boolean).join(', '))}_`,
    );
    if (typeof meta['model'] === 'string')
      out.push(`  \n  model: ${escapeMarkdown(meta['model'])}`);
    if (Array.isArray(meta['adapters']) && meta['adapters'].length)
      out.push(`  \n  adapters: ${escapeMarkdown(JSON.stringify(meta['adapters']))}`);
    if (Array.isArray(meta['top'])) out.push(`  \n  top: ${topList(meta['top'])}`);
    if (Array.isArray(meta['neighbours']))
      out.push(
        `  \n  retrieved examples: ${meta['neighbours'].map((n) => escapeMarkdown(String(n))).join(', ')}`,
      );
    if (rel?.evidence?.length)
      out.push(
        `  \n  evidence: ${escapeMarkdown(evidenceQuotes(record, rel).join(' · ') || rel.evidence.join(', '))}`,
      );
    if (rel?.source === 'model') {
      const args = commandArgs(t.relation);
      out.push(
        `  \n  [Show prompt](command:relationLens.showPrompt?${args}) · [Accept](command:relationLens.acceptRelation?${args}) · [Reject](command:relationLens.rejectRelation?${args}) · [Ignore](command:relationLens.ignoreRelation?${args})`,
      );
    }
    out.push('\n');
  }
  return out.join('');
}
