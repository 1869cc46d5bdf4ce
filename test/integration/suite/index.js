// Runs inside VS Code (@vscode/test-electron): the extension activates, its commands exist, and
// the record file of the bundled sample validates and gets decorations.
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');

async function run() {
  const ext = vscode.extensions.getExtension('relation-lens.relation-lens');
  assert.ok(ext, 'the extension is installed');
  const sample = path.resolve(__dirname, '..', '..', '..', 'samples', 'semeval-sample.jsonl');
  const doc = await vscode.workspace.openTextDocument(sample);
  await vscode.window.showTextDocument(doc);
  await ext.activate();
  const commands = await vscode.commands.getCommands(true);
  for (const c of [
    'relationLens.extractRelations',
    'relationLens.acceptRelation',
    'relationLens.openPanel',
    'relationLens.selectModel',
    'relationLens.reviewNext',
  ])
    assert.ok(commands.includes(c), `command ${c}`);
  await vscode.commands.executeCommand('relationLens.validateFile');
  const problems = vscode.languages.getDiagnostics(doc.uri);
  assert.equal(problems.length, 0, 'the sample is valid');
}

module.exports = { run };
