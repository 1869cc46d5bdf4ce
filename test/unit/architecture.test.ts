import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

  /** Relative imports of every module under `root` (static, type-only and re-exports included). */
  function importGraph(root: string): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    for (const f of filesUnder(root).filter((x) => x.endsWith('.ts'))) {
      const deps = [
        ...readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g),
      ]
        .map((m) => path.resolve(path.dirname(f), m[1]!))
        .map(
          (d) =>
            [`${d}.ts`, path.join(d, 'index.ts')].find((c) => graph.has(c) || existsSync(c)) ?? d,
        );
      graph.set(f, deps);
    }
    return graph;
  }

  /** The import cycles of a graph, each as its modules in order. */
  function cycles(graph: Map<string, string[]>): string[][] {
    const found: string[][] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, 'open');
      stack.push(n);
      for (const d of graph.get(n) ?? []) {
        if (state.get(d) === 'open') found.push(stack.slice(stack.indexOf(d)));
        else if (!state.has(d) && graph.has(d)) visit(d);
      }
      stack.pop();
      state.set(n, 'done');
    };
    for (const n of graph.keys()) if (!state.has(n)) visit(n);
    return found;
  }

  it('no import cycle anywhere in src/ (type-only imports included)', () => {
    const src = path.join(core, '..');
    const graph = importGraph(src);
    assert.ok(graph.size > 50);
    assert.deepEqual(
      cycles(graph).map((c) => c.map((f) => path.relative(src, f)).join(' → ')),
      [],
    );
    // The check finds a cycle when there is one.
    const a = path.join(src, 'a.ts');
    const b = path.join(src, 'b.ts');
    assert.equal(
      cycles(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ).length,
      1,
    );
  });
});
