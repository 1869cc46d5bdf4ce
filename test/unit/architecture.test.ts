import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const VSCODE_IMPORT =
  /(?:from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\)|import\s+['"]vscode['"])/;

describe('architecture', () => {
  const core = path.resolve(__dirname, '..', '..', 'src', 'core');

  it('src/core never imports the VS Code API', () => {
    const files = filesUnder(core).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 10, 'src/core has its sources');
    const offenders = files.filter((f) => VSCODE_IMPORT.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('the check recognises every import form it guards against', () => {
    for (const s of [
      "import * as vscode from 'vscode';",
      'import { window } from "vscode"',
      "const v = require('vscode')",
      "await import('vscode')",
      "import 'vscode';",
    ])
      assert.ok(VSCODE_IMPORT.test(s), s);
    assert.ok(!VSCODE_IMPORT.test("import { x } from './vscode-like';"));
  });

  const OUTER =
    /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](?:(?:\.\.\/)+(?:vscode|engine|extension|node|protocol)\b|node:|(?:fs|path|os|child_process|crypto)['"])/;

  it('src/core imports nothing from the outer layers (editor, engine, node, protocol) nor Node modules', () => {
    const offenders = filesUnder(core).filter((f) => OUTER.test(readFileSync(f, 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('the layer check recognises what it guards against', () => {
    for (const s of [
      "import { x } from '../node/files';",
      "import * as fs from 'node:fs';",
      "import { y } from '../../engine/llama';",
      "const p = require('path')",
      "await import('../protocol/engine')",
    ])
      assert.ok(OUTER.test(s), s);
    assert.ok(!OUTER.test("import { z } from './nodeLike';"));
    assert.ok(!OUTER.test("import { z } from '../schema';"));
  });

  it('src/vscode does not import the engine (it talks to the engine process)', () => {
    const offenders = filesUnder(path.join(core, '..', 'vscode')).filter((f) =>
      /from\s+['"](?:\.\.\/)+engine\//.test(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(offenders, []);
  });
});
