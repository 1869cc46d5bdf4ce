/** The extension manifest is complete and consistent with the code that registers its commands. */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { RECORD_VIEW_ACTIONS, RECORD_VIEW_KEYS_WHEN } from '../../src/protocol/recordView';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

describe('extension manifest', () => {
  it('has the fields VS Code needs', () => {
    for (const k of [
      'name',
      'publisher',
      'version',
      'engines',
      'main',
      'activationEvents',
      'contributes',
    ])
      assert.ok(pkg[k], k);
    assert.match(pkg.engines.vscode, /^\^1\.\d+\.\d+$/);
    assert.equal(pkg.main, './dist/extension.js');
    assert.equal(pkg.bin['relation-lens'], './dist/cli.js');
  });

  it('every contributed command is registered by the VS Code layer, and vice versa', () => {
    const dir = path.join(ROOT, 'src', 'vscode');
    const code = [
      ...readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')),
      readFileSync(path.join(ROOT, 'src', 'extension.ts'), 'utf8'),
    ].join('\n');
    // vscode.commands.registerCommand('id', …) or the commands module's reg('id', …)
    const registered = [
      ...new Set(
        [...code.matchAll(/(?:registerCommand|\breg)\(\s*'(relationLens\.[^']+)'/g)].map(
          (m) => m[1],
        ),
      ),
    ].sort();
    // The record view registers one command per action (src/vscode/recordView.ts).
    assert.match(code, /registerCommand\(`relationLens\.recordView\.\$\{action\}`/);
    const actions = Object.keys(RECORD_VIEW_ACTIONS).map((a) => `relationLens.recordView.${a}`);
    const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.ok(contributed.length > 0);
    assert.deepEqual([...registered, ...actions].sort(), contributed);
  });

  it("the record view's keys are contributed keybindings (users remap them), one command per action, only while the view has the focus and no text field does", () => {
    const bindings = pkg.contributes.keybindings as Array<{
      command: string;
      key: string;
      when: string;
    }>;
    for (const [action, d] of Object.entries(RECORD_VIEW_ACTIONS)) {
      const command = `relationLens.recordView.${action}`;
      const mine = bindings.filter((b) => b.command === command);
      assert.deepEqual(
        mine.map((b) => b.key),
        [...d.keys],
        command,
      );
      for (const b of mine) assert.equal(b.when, RECORD_VIEW_KEYS_WHEN, command);
      const c = pkg.contributes.commands.find((x: { command: string }) => x.command === command);
      assert.equal(c?.title, `Record View: ${d.title}`);
    }
    const keys = bindings.filter((b) => b.when === RECORD_VIEW_KEYS_WHEN).map((b) => b.key);
    assert.equal(new Set(keys).size, keys.length, 'one action per key');
  });

  it('native and ESM-only engine modules with install scripts are allowed to build (npm 11)', () => {
    for (const dep of ['node-llama-cpp', 'hnswlib-node'])
      if (pkg.dependencies?.[dep])
        assert.ok(pkg.allowScripts?.[dep], `${dep} must be listed under allowScripts`);
    assert.ok(pkg.allowScripts?.esbuild, 'esbuild');
  });

  it('only commands that work anywhere show in every palette; the others have a when clause, and activation is left to VS Code', () => {
    // Commands that need no open file: everything else must say when it applies.
    const anywhere = new Set([
      'relationLens.buildIndex',
      'relationLens.setServerApiKey',
      'relationLens.selectModel',
      'relationLens.selectLoraAdapter',
      'relationLens.selectRelationSet',
      'relationLens.openPanel',
      'relationLens.restartEngine',
      'relationLens.filterRelations',
      'relationLens.toggleDecorations',
      'relationLens.runSample',
    ]);
    const when = new Map<string, string>(
      pkg.contributes.menus.commandPalette.map((m: { command: string; when: string }) => [
        m.command,
        m.when,
      ]),
    );
    const unconditional = pkg.contributes.commands
      .map((c: { command: string }) => c.command)
      .filter((c: string) => !when.has(c));
    assert.deepEqual(
      unconditional.filter((c: string) => !anywhere.has(c)),
      [],
    );
    assert.match(when.get('relationLens.acceptRelation')!, /resourceLangId == jsonl/);
    assert.match(when.get('relationLens.extractRelations')!, /markdown/);
    // VS Code ≥ 1.74 derives activation from the contributions (commands, views, custom editor, language).
    assert.match(pkg.engines.vscode, /^\^1\.(7[4-9]|[89]\d)\./);
    assert.deepEqual(pkg.activationEvents, []);
  });

  it('settings come in titled sections; machine-specific ones say so', () => {
    const sections = pkg.contributes.configuration as Array<{
      title: string;
      properties: Record<
        string,
        { scope?: string; enum?: unknown[]; enumDescriptions?: unknown[] }
      >;
    }>;
    assert.ok(Array.isArray(sections) && sections.length >= 4);
    for (const s of sections) assert.match(s.title, /^Relation Lens: /);
    const all = Object.assign({}, ...sections.map((s) => s.properties));
    for (const k of ['model', 'loras', 'threads'])
      assert.equal(all[`relationLens.${k}`].scope, 'machine-overridable', k);
    for (const [k, v] of Object.entries(all) as Array<
      [string, { enum?: unknown[]; enumDescriptions?: unknown[] }]
    >)
      if (v.enum) assert.equal(v.enumDescriptions?.length, v.enum.length, `${k}: enumDescriptions`);
    assert.equal(pkg.icon, 'media/icon.png');
  });
});
