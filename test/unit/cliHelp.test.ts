/**
 * Help text is for users (issue 27): no benchmark numbers, no internal words, no path of the
 * machine it was printed on, in every command's help; benchmarks and set-up grouped apart.
 */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import { Command } from 'commander';
import { buildProgram } from '../../src/cli/main';

function commands(c: Command, prefix = ''): Array<[string, Command]> {
  const name = `${prefix}${c.name()}`;
  return [[name, c], ...c.commands.flatMap((s) => commands(s, `${name} `))];
}

/** What a help text must not say, with why. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bF1 \d|\d+(\.\d+)? ?vs ?\d/, 'a benchmark result'],
  [/\bseed: about\b|\bmeasured\b.*\d/, 'a measurement'],
  [/\bbench\/[\w.]+\.ts\b/, 'a benchmark file'],
  [/\bmath cores\b/, "llama.cpp's internal word"],
  [/\bthe CLI'?s?\b/, 'the CLI speaking of itself'],
  [/\bissue \d+/, 'an issue number'],
];

describe('CLI help text', () => {
  const all = commands(buildProgram());

  it('no command says a benchmark number, an internal word or a path of this machine', () => {
    assert.ok(all.length >= 15, `${all.length} commands`);
    const home = os.homedir();
    const bad: string[] = [];
    for (const [name, c] of all) {
      const help = c.helpInformation();
      if (home.length > 1 && help.includes(home)) bad.push(`${name}: the home folder ${home}`);
      for (const [re, why] of FORBIDDEN) {
        const m = help.replace(/\s+/g, ' ').match(re);
        if (m) bad.push(`${name}: ${why} ("${m[0]}")`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('the checks find what they look for', () => {
    const hits = (s: string) => FORBIDDEN.filter(([re]) => re.test(s)).map(([, why]) => why);
    assert.deepEqual(hits('the better form: F1 53.15 vs 0.00 with codes in bench/lora.ts'), [
      'a benchmark result',
      'a benchmark file',
    ]);
    assert.deepEqual(hits('similarity (seed: about 0.55)'), ['a measurement']);
    assert.deepEqual(hits("the machine's math cores; the CLI's --deterministic"), [
      "llama.cpp's internal word",
      'the CLI speaking of itself',
    ]);
    assert.deepEqual(hits('CPU threads (default: 4); e.g. http://127.0.0.1:8080/v1'), []);
  });

  it('benchmarks and the trainer set-up are listed apart from the user commands', () => {
    const top = buildProgram().helpInformation();
    const [user, rest] = top.split('Benchmarks and set-up:');
    assert.ok(rest, top);
    assert.match(rest!, /^\s+bench\b/m);
    assert.match(rest!, /^\s+trainer\b/m);
    assert.doesNotMatch(user!, /^\s+(bench|trainer)\b/m);
    assert.match(user!, /^\s+extract\b/m);
  });
});
