/** The VSIX ships what .vscodeignore lets through (its "!" lines) plus the runtime dependencies, and nothing else. */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { minimatch } from 'minimatch';
import { ROOT, ensureBuilt } from '../helpers/cli';

describe('VSIX contents (.vscodeignore is the source of truth)', function () {
  this.timeout(300_000);
  let files: string[];
  let dir: string;
  const kept = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1));

  before(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'rl-vsix-'));
    const vsix = path.join(dir, 'x.vsix');
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'scripts', 'package-vsix.mjs'), '--no-build', '--out', vsix],
      { cwd: ROOT, stdio: 'pipe' },
    );
    files = execFileSync('zipinfo', ['-1', vsix], { encoding: 'utf8', maxBuffer: 64 << 20 })
      .split('\n')
      .filter((f) => f.startsWith('extension/') && !f.endsWith('/'))
      .map((f) => f.slice('extension/'.length));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('every file is let through by .vscodeignore, is a runtime dependency, or is written by vsce', () => {
    const vsce = new Set(['package.json', 'readme.md', 'changelog.md', 'LICENSE.txt']);
    const stray = files.filter(
      (f) =>
        !vsce.has(f) &&
        !f.startsWith('node_modules/') &&
        !kept.some((p) => minimatch(f, p, { dot: true })),
    );
    assert.deepEqual(stray, []);
    assert.deepEqual(
      files.filter((f) => /\.map$/.test(f) && !f.startsWith('node_modules/')),
      [],
      'no source maps of ours',
    );
    assert.ok(
      !files.some((f) => /^(src|test|bench|scripts|\.cache|webview|docs)\//.test(f)),
      'no sources, tests or caches',
    );
    assert.ok(!files.some((f) => f.startsWith('node_modules/typescript/')), 'no dev tools');
  });

  it('everything .vscodeignore names is in the VSIX (the bundles, the trainer, the catalog)', () => {
    // vsce ships the licence as LICENSE.txt
    for (const p of kept)
      assert.ok(
        files.some(
          (f) => minimatch(f, p, { dot: true }) || (p === 'LICENSE' && f === 'LICENSE.txt'),
        ),
        `${p} is missing from the VSIX`,
      );
    assert.ok(
      files.some((f) => f.startsWith('node_modules/node-llama-cpp/')),
      'node-llama-cpp (native runtime) ships unbundled',
    );
    assert.ok(
      files.some((f) => f.startsWith('node_modules/hnswlib-node/')),
      'hnswlib-node ships unbundled',
    );
    const ort = files.filter((f) => f.startsWith('node_modules/onnxruntime-node/bin/'));
    assert.ok(
      ort.some((f) => f.includes(`/${process.platform}/${process.arch}/`)),
      "onnxruntime-node (the document encoder's runtime) ships this platform's binaries",
    );
    assert.deepEqual(
      ort.filter((f) => !f.includes(`/${process.platform}/${process.arch}/`)),
      [],
      "and no other platform's",
    );
    assert.ok(
      files.includes('models/redocred-filter/encoder.onnx') &&
        files.includes('models/redocred-filter/manifest.json'),
      'the shipped document encoder',
    );
    assert.ok(!files.some((f) => f.endsWith('.pt')), 'no PyTorch checkpoints');
  });
});
