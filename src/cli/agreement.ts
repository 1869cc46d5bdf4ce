/**
 * `relation-lens agreement A B [C …]`: how far annotators agree on the records they all curated
 * (src/core/eval/agreement.ts): Cohen's or Fleiss' kappa over the entity pairs every one of them
 * decided, relation-level F1 of each against the others (per relation), and the records where they
 * differ, written for adjudication in the record view (`-o`).
 */
import { Command } from 'commander';
import * as path from 'node:path';
import { InputError } from '../core/diagnostics';
import { RelationSet } from '../core/schema';
import { Annotation, adjudicationRecords, agreement } from '../core/eval/agreement';
import { ImportFormat } from '../node/load';
import { writeOutput } from '../node/output';
import { resolveRelationSet } from '../node/resources';
import { fromOption, load, printJson } from './common';

interface AgreementOptions {
  from?: ImportFormat;
  relations?: string;
  names?: string;
  out?: string;
  force?: boolean;
  json?: boolean;
}

const pct = (x: number) => (100 * x).toFixed(2);

/** Each annotator's file read as records, and the first relation set a file defines. */
export async function loadAnnotations(
  files: string[],
  names: string[],
  opts: { from?: ImportFormat; relations?: string },
): Promise<{ anns: Annotation[]; own: RelationSet | undefined }> {
  const anns: Annotation[] = [];
  let own: RelationSet | undefined;
  for (const [i, f] of files.entries()) {
    const r = await load(f, { format: opts.from, relations: opts.relations });
    own ??= r.relationSet;
    anns.push({ name: names[i]!, records: r.records });
  }
  return { anns, own };
}

async function agreementCommand(files: string[], opts: AgreementOptions): Promise<void> {
  if (files.length < 2) throw new InputError('agreement needs two or more annotated files');
  const names = opts.names
    ? opts.names.split(',').map((s) => s.trim())
    : files.map((f) => path.basename(f));
  if (names.length !== files.length)
    throw new InputError(`--names gives ${names.length} name(s) for ${files.length} file(s)`);
  if (new Set(names).size !== names.length)
    throw new InputError(
      `two annotations have the same name (${names.join(', ')}): pass --names A,B,…`,
    );
  const { anns, own } = await loadAnnotations(files, names, opts);
  const rs = await resolveRelationSet({
    file: opts.relations,
    own,
    nearby: [path.dirname(files[0]!)],
    records: anns[0]!.records,
  });
  const noRelation = rs?.set.noRelation ?? null;
  const report = agreement(anns, noRelation);
  if (!report.records)
    throw new InputError(
      `no record id is in all ${files.length} files: agreement compares the same records`,
      files[1],
    );
  if (opts.out) {
    const recs = adjudicationRecords(anns, report);
    await writeOutput(opts.out, files, opts.force, () =>
      recs.map((r) => JSON.stringify(r) + '\n').join(''),
    );
  }
  if (opts.json) {
    printJson({
      annotators: report.annotators,
      records: report.records,
      pairs: report.pairs,
      pending_pairs: report.pendingPairs,
      kappa_kind: report.kappaKind,
      kappa: report.kappa,
      observed: report.observed,
      expected: report.expected,
      f1: report.pairwise[0]!.f1,
      precision: report.pairwise[0]!.precision,
      recall: report.pairwise[0]!.recall,
      per_relation: report.pairwise[0]!.perRelation,
      pairwise: report.pairwise,
      disagreements: report.disagreements,
      ...(opts.out ? { out: opts.out } : {}),
    });
    return;
  }
  const w = (s: string) => process.stdout.write(s + '\n');
  w(
    `${report.annotators.length} annotators (${report.annotators.join(', ')}): ${report.records} record(s) in all, ${report.pairs} entity pair(s) compared${report.pendingPairs ? `, ${report.pendingPairs} left out (a prediction pending review)` : ''}${rs ? `; relation set ${rs.set.name}${noRelation ? ` (${noRelation} = no relation)` : ''}` : ''}`,
  );
  w(
    `${report.kappaKind === 'cohen' ? "Cohen's" : "Fleiss'"} kappa ${report.kappa.toFixed(3)} (observed agreement ${report.observed.toFixed(3)}, by chance ${report.expected.toFixed(3)})`,
  );
  for (const p of report.pairwise)
    w(
      `relation F1 of ${p.other} against ${p.reference}: ${pct(p.f1)} (P ${pct(p.precision)} / R ${pct(p.recall)})`,
    );
  const first = report.pairwise[0]!;
  const rows = Object.entries(first.perRelation);
  if (rows.length) {
    const width = Math.max(8, ...rows.map(([l]) => l.length));
    w(`\n${'relation'.padEnd(width)}  ${first.reference}  ${first.other}  both  F1`);
    for (const [l, c] of rows)
      w(`${l.padEnd(width)}  ${c.reference}  ${c.other}  ${c.both}  ${pct(c.f1)}`);
  }
  w(
    `\n${report.disagreements.length} record(s) with a disagreement${opts.out ? ` → ${opts.out} (open it in the record view to adjudicate)` : ' (-o FILE writes them for adjudication)'}`,
  );
}

export function addAgreementCommand(program: Command): void {
  program
    .command('agreement')
    .description(
      "inter-annotator agreement on the records two or more curated files share: Cohen's kappa (Fleiss' for more than two) over the entity pairs all decided, relation F1 of each against the others, and the records where they differ",
    )
    .argument('<files...>', 'two or more annotated files of the same records (matched by id)')
    .addOption(fromOption())
    .option('--relations <file>', 'relation set (its no-relation label counts as no relation)')
    .option('--names <a,b,…>', "the annotators' names (default: the file names)")
    .option(
      '-o, --out <file>',
      "write the records with a disagreement, every annotator's relations side by side, for adjudication",
    )
    .option('--force', 'replace the output file if it exists')
    .option('--json', 'print one JSON object')
    .action((files: string[], opts: AgreementOptions) => agreementCommand(files, opts));
}
