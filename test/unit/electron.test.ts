/**
 * The @vscode/test-electron suite: runs where a VS Code binary exists ($VSCODE_EXECUTABLE), and
 * skips with a SKIP line here (no VS Code download is possible on these machines; the real
 * end-to-end test in test/e2e uses code-server instead).
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

describe('VS Code integration (@vscode/test-electron)', function () {
  this.timeout(600_000);
  it('activates in a real VS Code, registers its commands and validates the sample', async function () {
    const exe = process.env['VSCODE_EXECUTABLE'];
    if (!exe || !existsSync(exe)) {
      console.log(
        '    SKIP: no VS Code binary (set VSCODE_EXECUTABLE to run the @vscode/test-electron suite; the code-server end-to-end test covers this machine)',
      );
      this.skip();
    }
    const { runTests } = await import('@vscode/test-electron');
    const code = await runTests({
      vscodeExecutablePath: exe,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, 'test', 'integration', 'suite', 'index.js'),
      launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
    });
    assert.equal(code, 0);
  });
});
