/** The extension manifest is complete and consistent with the code that registers its commands. */
import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

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
    const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.ok(contributed.length > 0);
    assert.deepEqual(registered, contributed);
  });

  it('native and ESM-only engine modules with install scripts are allowed to build (npm 11)', () => {
    for (const dep of ['node-llama-cpp', 'hnswlib-node'])
      if (pkg.dependencies?.[dep])
        assert.ok(pkg.allowScripts?.[dep], `${dep} must be listed under allowScripts`);
    assert.ok(pkg.allowScripts?.esbuild, 'esbuild');
  });
});
