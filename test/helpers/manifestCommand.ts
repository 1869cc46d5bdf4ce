/**
 * A manifest of something the project ships (models/) names the command that made it: the CLI
 * must still have that command and every option it passes.
 */
import { strict as assert } from 'node:assert';
import { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';

export function assertCliCommandExists(cmd: string): void {
  const words = cmd.split(/\s+/);
  assert.equal(words[0], 'relation-lens', `${cmd}: a relation-lens command`);
  const sub = buildProgram().commands.find((c: Command) => c.name() === words[1]);
  assert.ok(sub, `${words[1]} is a command`);
  for (const w of words.slice(2).filter((x) => x.startsWith('-')))
    assert.ok(
      sub.options.some((o) => o.long === w || o.short === w),
      `${w} is an option of ${words[1]}`,
    );
}
