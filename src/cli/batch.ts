/**
 * `export --format openai-batch` and `import --from openai-batch-results`: extraction through a
 * batch API or `vllm run-batch`, offline, with the same prompts, constraint fields, answer checks
 * and prediction merge as live runs (src/core/formats/openaiBatch.ts).
 */
import * as path from 'node:path';
import {
  load,
  raiseExitCode,
  relationSetFor,
  resolveTemplate,
  MAX_SHOWN,
  NO_RELATION_SET,
} from './common';
import { InputError } from '../core/diagnostics';
import { serializeRecord } from '../core/formats/canonical';
import {
  BatchManifest,
  batchRequests,
  importBatchResults,
  parseBatchManifest,
} from '../core/formats/openaiBatch';
import { ServerFlavor } from '../core/ports';
import { readText } from '../node/files';
import { prepareReplace, writeOutput } from '../node/output';
import { fileDigest } from '../node/provenance';
import { DirectionMode, defaultDirection } from '../core/pipelines/answerSpace';

/** The manifest beside a batch file: BATCH.jsonl → BATCH.manifest.json. */
export function batchManifestPath(batch: string): string {
  return `${batch.replace(/\.jsonl$/i, '')}.manifest.json`;
}

export async function exportOpenAiBatch(
  input: string,
  opts: {
    from?: Parameters<typeof load>[1]['format'];
    relations?: string;
    template?: string;
    servedModel?: string;
    serverFlavor?: ServerFlavor;
    answers?: 'names' | 'codes';
    direction?: DirectionMode;
    out: string;
    force?: boolean;
  },
): Promise<void> {
  if (!opts.servedModel)
    throw new InputError(
      '--format openai-batch needs --served-model NAME (the model the batch requests name)',
    );
  const manifestFile = batchManifestPath(opts.out);
  const inputs = [input, opts.template, opts.relations];
  const r = await load(input, { format: opts.from, relations: opts.relations });
  const rs = await relationSetFor(opts, r.relationSet, input);
  if (!rs) throw new InputError(NO_RELATION_SET, input);
  const template = await resolveTemplate(opts.template);
  const direction = opts.direction ?? defaultDirection(rs);
  const flavor = opts.serverFlavor ?? 'openai';
  const lines = batchRequests(r.records, {
    relationSet: rs,
    template,
    direction,
    answerCodes: opts.answers === 'codes',
    flavor,
    model: opts.servedModel,
  });
  if (!lines.length)
    throw new InputError('no entity pair to ask about: the records hold no candidate pairs', input);
  const manifest: BatchManifest = {
    kind: 'relation-lens/openai-batch',
    version: 1,
    input: {
      ...(await fileDigest(path.resolve(input))),
      ...(opts.from ? { format: opts.from } : {}),
    },
    relationSet: rs,
    template: template.name,
    direction,
    answers: opts.answers ?? 'names',
    flavor,
    model: opts.servedModel,
    requests: lines.length,
  };
  // Both files are checked before either is written.
  await prepareReplace(opts.out, inputs, opts.force);
  await prepareReplace(manifestFile, inputs, opts.force);
  await writeOutput(opts.out, inputs, opts.force, () => lines.join('\n') + '\n');
  await writeOutput(
    manifestFile,
    inputs,
    opts.force,
    () => JSON.stringify(manifest, null, 2) + '\n',
  );
  process.stderr.write(
    `wrote ${lines.length} request(s) (${flavor} constraint fields, model ${opts.servedModel}) to ${opts.out}, and ${manifestFile}\n`,
  );
  process.stderr.write(
    `run them (e.g. vllm run-batch -i ${opts.out} -o RESULTS.jsonl --model ${opts.servedModel}), then: relation-lens import RESULTS.jsonl --from openai-batch-results --batch ${opts.out} -o PRED.jsonl\n`,
  );
}

export async function importOpenAiBatchResults(
  input: string,
  opts: { batch?: string; out: string; force?: boolean },
): Promise<void> {
  if (!opts.batch)
    throw new InputError(
      '--from openai-batch-results needs --batch BATCH.jsonl (the file export --format openai-batch wrote; its manifest is read from beside it)',
      input,
    );
  const manifestFile = batchManifestPath(opts.batch);
  const m = parseBatchManifest((await readText(manifestFile)).text, manifestFile);
  const now = await fileDigest(m.input.path).catch(() => undefined);
  if (!now)
    throw new InputError(
      `the records the batch was made from are gone (${m.input.path})`,
      manifestFile,
    );
  if (now.sha256 !== m.input.sha256)
    throw new InputError(
      `${m.input.path} changed since the batch was exported (sha256 differs); export the batch again`,
      manifestFile,
    );
  const inputs = [input, opts.batch, manifestFile, m.input.path];
  await prepareReplace(opts.out, inputs, opts.force);
  const r = await load(m.input.path, {
    format: m.input.format as Parameters<typeof load>[1]['format'],
  });
  const res = importBatchResults((await readText(input)).text, input, r.records, m);
  await writeOutput(opts.out, inputs, opts.force, () =>
    res.records.map((x) => serializeRecord(x) + '\n').join(''),
  );
  for (const e of res.errors.slice(0, MAX_SHOWN)) process.stderr.write(`error: ${e}\n`);
  if (res.errors.length > MAX_SHOWN)
    process.stderr.write(`… and ${res.errors.length - MAX_SHOWN} more\n`);
  process.stderr.write(
    `wrote ${res.records.length} record(s) to ${opts.out}: ${res.answered} pair(s) answered, ${res.errors.length} problem(s), ${res.missing} pair(s) without a result\n`,
  );
  if (res.errors.length || res.missing) raiseExitCode(3);
}
