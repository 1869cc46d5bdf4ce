/**
 * relation-lens: the headless face of the core (import, export, eval, extract, extract-doc, index,
 * train-filter, bench, validate).
 * Exit codes: 0 success; 1 fatal error (nothing written); 2 usage error; 3 written, but some
 * input units were skipped because of errors (each reported with file and line).
 */
import { Command } from 'commander';
import { addAgreementCommand } from './agreement';
import { addTeamCommands } from './team';
import { addDataCommands } from './data';
import { addDocumentCommands } from './doc';
import { addEncoderCommands } from './encoder';
import { addExtractCommands } from './extract';
import { addTrainingCommands } from './train';
import {
  addRenamedFlags,
  currentExitCode,
  load,
  modelSpec,
  positiveInt,
  raiseExitCode,
  relationSetFor,
  resolveTemplate,
} from './common';

/**
 * --quiet: stderr keeps what a person must see — errors, warnings, notes and the tool's own
 * failure line — and drops progress bars and summaries. Results on stdout are untouched.
 */
function quietStderr(): void {
  const write = process.stderr.write.bind(process.stderr);
  const keep = /^(relation-lens:|error|warning|note:)|: (error|warning): /;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const kept = text
      .split(/(?<=\n)/)
      .filter((l) => keep.test(l))
      .join('');
    const cb = rest.find((r): r is () => void => typeof r === 'function');
    if (!kept) {
      cb?.();
      return true;
    }
    return write(kept, ...(rest as []));
  }) as typeof process.stderr.write;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('relation-lens')
    .description(
      'Relation extraction with local LLMs: import, validate and export datasets, extract relations (sentence and document level), train LoRA adapters on curated data, build retrieval indexes, score as the official scorers do, and benchmark (the headless core of the Relation Lens VS Code extension).',
    )
    .version('0.1.0')
    .option('-q, --quiet', 'print only errors and warnings on stderr (no progress or summaries)')
    .hook('preAction', () => {
      if (program.opts()['quiet']) quietStderr();
    })
    .showHelpAfterError()
    .exitOverride();

  addDataCommands(program);
  addAgreementCommand(program);
  addTeamCommands(program);
  const bench = program.command('bench').description('benchmarks (ratios measured in one run)');
  addExtractCommands(program, bench);
  const ctx = { load, modelSpec, positiveInt, setExitCode: raiseExitCode };
  addDocumentCommands(program, bench, ctx);
  addEncoderCommands(program, bench, ctx);
  addTrainingCommands(program, bench, { ...ctx, resolveTemplate, relationSetFor });
  addRenamedFlags(program);
  // The user commands first; benchmarks and the trainer's own set-up apart.
  for (const c of program.commands)
    c.helpGroup(['bench', 'trainer'].includes(c.name()) ? 'Benchmarks and set-up:' : 'Commands:');
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return currentExitCode();
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    process.stderr.write(`relation-lens: ${e.message ?? String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => process.exit(code));
}
