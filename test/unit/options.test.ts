/**
 * One declaration of the extraction options (src/core/options.ts): the CLI flags, the editor
 * settings (package.json) and the engine protocol all derive from it, so their defaults, choices
 * and bounds cannot drift apart.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { cliOption } from '../../src/cli/common';
import { addDocumentCommands } from '../../src/cli/doc';
import { addExtractCommands } from '../../src/cli/extract';
import {
  OPTIONS,
  OptionName,
  optionSchema,
  settingOptions,
  settingSchema,
} from '../../src/core/options';
import {
  DocumentJobSchema,
  EngineSettingsSchema,
  SentenceJobSchema,
} from '../../src/protocol/engine';

const root = path.resolve(__dirname, '..', '..');

describe('extraction options (one declaration)', () => {
  it('package.json declares every setting exactly as src/core/options.ts does (scripts/sync-settings.ts --check)', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'scripts', 'sync-settings.ts'), '--check'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    const props =
      pkg.contributes.configuration.properties ??
      Object.assign(
        {},
        ...pkg.contributes.configuration.map((c: { properties: object }) => c.properties),
      );
    assert.ok(settingOptions().length >= 10);
    for (const [name, key] of settingOptions()) {
      const p = props[`relationLens.${key}`];
      const want = settingSchema(name);
      assert.deepEqual(p.default, want['default'], key);
      assert.equal(p.type, want['type'], key);
      assert.deepEqual(p.enum, want['enum'], key);
      assert.equal(p.minimum, want['minimum'], key);
    }
  });

  it('the CLI options take flag, help, default and choices from the declaration', () => {
    const program = new Command();
    const bench = program.command('bench');
    addExtractCommands(program, bench);
    addDocumentCommands(program, bench, {} as never);
    const extract = program.commands.find((c) => c.name() === 'extract')!;
    const doc = program.commands.find((c) => c.name() === 'extract-doc')!;
    // [command, option, the command's own help text when it says it differently]
    const checks: Array<[Command, OptionName, string?]> = [
      [extract, 'mode'],
      [extract, 'answers'],
      [extract, 'k', 'demonstrations per prompt with --rag'],
      [extract, 'parallel'],
      [extract, 'contextSize'],
      [extract, 'template'],
      [doc, 'documentK'],
      [doc, 'documentTemplate'],
      [doc, 'documentFilter'],
      [doc, 'contextSize'],
    ];
    for (const [cmd, name, help] of checks) {
      const d = OPTIONS[name];
      const o = cmd.options.find((x) => x.flags === d.flag);
      assert.ok(o, `${cmd.name()} ${d.flag}`);
      assert.equal(o.description, help ?? d.description);
      assert.equal(o.defaultValue, 'default' in d ? d.default : undefined);
      if (d.value.type === 'enum') assert.deepEqual(o.argChoices, [...d.value.values]);
    }
  });

  it('a CLI value outside the type is refused with the flag and the value named', () => {
    assert.throws(
      () => cliOption('k').parseArg!('0', undefined),
      /--demonstrations must be a positive integer, got "0"/,
    );
    assert.throws(
      () => cliOption('contextSize').parseArg!('100', undefined),
      /--context-size must be an integer ≥ 256, got "100"/,
    );
    assert.throws(
      () => cliOption('threshold').parseArg!('1.5', undefined),
      /--threshold must be a number between 0 and 1, got "1.5"/,
    );
    assert.throws(
      () => cliOption('entityFuzzy').parseArg!('abc', undefined),
      /--entity-fuzzy must be a number between 0 and 100/,
    );
    assert.equal(cliOption('scoreMargin').parseArg!('2.5', undefined), 2.5);
    assert.equal(cliOption('parallel').parseArg!('4', undefined), 4);
  });

  it('the engine protocol fills the same defaults and refuses the same values', () => {
    const engine = EngineSettingsSchema.parse({ model: 'm.gguf' });
    assert.equal(engine.parallel, OPTIONS.parallel.default);
    assert.equal(engine.contextSize, OPTIONS.contextSize.default);
    assert.equal(engine.threads, undefined);
    assert.equal(
      EngineSettingsSchema.safeParse({ model: 'm.gguf', contextSize: 100 }).success,
      false,
    );
    const rs = { name: 'r', noRelation: null, directed: false, labels: [{ name: 'a' }] };
    const t = { name: 't', instruction: 'i', input: 'x', output: 'o' };
    const job = SentenceJobSchema.parse({
      kind: 'sentence',
      records: [],
      relationSet: rs,
      template: t,
    });
    assert.equal(job.mode, OPTIONS.mode.default);
    assert.equal(job.answers, OPTIONS.answers.default);
    assert.equal(job.scoreMargin, OPTIONS.scoreMargin.default);
    assert.equal(
      SentenceJobSchema.safeParse({
        kind: 'sentence',
        records: [],
        relationSet: rs,
        template: t,
        mode: 'guess',
      }).success,
      false,
    );
    const doc = DocumentJobSchema.parse({ kind: 'document', inputs: [], relationSet: rs });
    assert.equal(doc.k, OPTIONS.documentK.default);
    assert.equal(doc.template, OPTIONS.documentTemplate.default);
    assert.equal(
      DocumentJobSchema.safeParse({ kind: 'document', inputs: [], relationSet: rs, threshold: 2 })
        .success,
      false,
    );
    assert.equal(optionSchema('direction').parse(undefined), undefined);
  });
});
