/**
 * Writes the settings the extraction options declare (src/core/options.ts) into package.json's
 * `contributes.configuration`: type, default, enum, bounds and description come from the one
 * declaration the CLI flags and the engine protocol use too. `--check` only reports drift
 * (exit 1), which test/unit/options.test.ts runs.
 *
 *   npx tsx scripts/sync-settings.ts [--check]
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { settingOptions, settingSchema } from '../src/core/options';
import { writeFileAtomic } from '../src/node/files';

const file = path.join(__dirname, '..', 'package.json');
const text = readFileSync(file, 'utf8');
const pkg = JSON.parse(text) as {
  contributes: {
    configuration:
      | { properties: Record<string, Record<string, unknown>> }
      | Array<{ properties: Record<string, Record<string, unknown>> }>;
  };
};
const sections = Array.isArray(pkg.contributes.configuration)
  ? pkg.contributes.configuration
  : [pkg.contributes.configuration];
const drift: string[] = [];
for (const [name, key] of settingOptions()) {
  const full = `relationLens.${key}`;
  const section = sections.find((s) => full in s.properties);
  if (!section) {
    drift.push(`${full}: missing (option ${name})`);
    sections[0]!.properties[full] = settingSchema(name);
    continue;
  }
  const want = { ...section.properties[full], ...settingSchema(name) };
  // The declaration's text replaces a Markdown one; choices' descriptions go with the choices.
  delete want['markdownDescription'];
  for (const k of ['enum', 'minimum', 'maximum'] as const)
    if (!(k in settingSchema(name))) delete want[k];
  if (!want['enum']) delete want['enumDescriptions'];
  if (JSON.stringify(want) !== JSON.stringify(section.properties[full]))
    drift.push(`${full}: ${JSON.stringify(section.properties[full])} → ${JSON.stringify(want)}`);
  section.properties[full] = want;
}
if (process.argv.includes('--check')) {
  for (const d of drift)
    process.stderr.write(`package.json drifted from src/core/options.ts: ${d}\n`);
  if (drift.length) process.stderr.write('run: npx tsx scripts/sync-settings.ts\n');
  process.exit(drift.length ? 1 : 0);
}
void (
  drift.length ? writeFileAtomic(file, JSON.stringify(pkg, null, 2) + '\n') : Promise.resolve()
).then(() => process.stdout.write(`${drift.length} setting(s) updated\n`));
