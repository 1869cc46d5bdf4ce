/**
 * OpenAI batch files: export writes one constrained chat request per pair and a manifest; import
 * reads results back into canonical predictions with the live runs' checks (answers outside the
 * set, HTTP errors, unknown and repeated ids, missing results), naming file and line.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SAMPLE, cli, ensureBuilt, tmp } from '../helpers/cli';

interface Req {
  custom_id: string;
  url: string;
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    structured_outputs?: { choice: string[] };
    grammar?: string;
    response_format?: unknown;
  };
}

function result(custom_id: string, content: string, status = 200): string {
  return JSON.stringify({
    id: `b-${custom_id}`,
    custom_id,
    response: {
      status_code: status,
      body: { choices: [{ index: 0, message: { role: 'assistant', content } }] },
    },
    error: null,
  });
}

describe('OpenAI batch files (export --format openai-batch, import --from openai-batch-results)', () => {
  before(() => ensureBuilt());

  it('export: one request per pair with the flavor constraint fields, and a manifest; import: predictions, errors by line, missing pairs counted', async () => {
    const dir = tmp();
    const batch = path.join(dir, 'batch.jsonl');
    const e = cli(
      'export',
      SAMPLE,
      '--format',
      'openai-batch',
      '--served-model',
      'qwen',
      '--server-flavor',
      'vllm',
      '-o',
      batch,
    );
    assert.equal(e.code, 0, e.err);
    const reqs = (await fs.readFile(batch, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Req);
    assert.equal(reqs.length, 12);
    assert.equal(reqs[0]!.url, '/v1/chat/completions');
    assert.equal(reqs[0]!.body.model, 'qwen');
    assert.ok(
      reqs[0]!.body.structured_outputs!.choice.includes('Cause-Effect') &&
        reqs[0]!.body.structured_outputs!.choice.includes('Other'),
    );
    assert.match(reqs[0]!.body.messages.at(-1)!.content, /Cause-Effect/);
    assert.deepEqual(JSON.parse(reqs[0]!.custom_id), ['semeval-1', 'e1', 'e2']);
    const manifest = JSON.parse(
      await fs.readFile(path.join(dir, 'batch.manifest.json'), 'utf8'),
    ) as { requests: number; flavor: string };
    assert.equal(manifest.requests, 12);
    assert.equal(manifest.flavor, 'vllm');
    // A second export over the same files is refused without --force.
    assert.match(
      cli('export', SAMPLE, '--format', 'openai-batch', '--served-model', 'qwen', '-o', batch).err,
      /exists|--force/,
    );

    const lines = [
      result(reqs[0]!.custom_id, 'Cause-Effect'),
      result(reqs[1]!.custom_id, 'Effect-Cause'),
      result(reqs[2]!.custom_id, 'Other'),
      result(reqs[3]!.custom_id, 'no idea', 200),
      result(reqs[4]!.custom_id, '', 500),
      result(JSON.stringify(['nope', 'e1', 'e2']), 'Other'),
      result(reqs[0]!.custom_id, 'Other'),
      'not json',
    ];
    const results = path.join(dir, 'results.jsonl');
    await fs.writeFile(results, lines.join('\n') + '\n');
    const out = path.join(dir, 'pred.jsonl');
    const r = cli('import', results, '--from', 'openai-batch-results', '--batch', batch, '-o', out);
    assert.equal(r.code, 3, r.err);
    assert.match(
      r.err,
      /results\.jsonl:4: record semeval-4, pair e1,e2: the server answered "no idea", which is not in the relation set/,
    );
    assert.match(r.err, /results\.jsonl:5: record semeval-5, pair e1,e2: HTTP 500/);
    assert.match(r.err, /results\.jsonl:6: record nope, pair e1,e2 is not in /);
    assert.match(r.err, /results\.jsonl:7: a second result for record semeval-1/);
    assert.match(r.err, /results\.jsonl:8: not JSON/);
    assert.match(
      r.err,
      /wrote 12 record\(s\) to .*: 3 pair\(s\) answered, 5 problem\(s\), 7 pair\(s\) without a result/,
    );
    const recs = (await fs.readFile(out, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as {
            id: string;
            relations: Array<{
              head: string;
              tail: string;
              label: string;
              source?: string;
              meta?: { model?: string };
            }>;
            meta?: { extraction?: { errors?: string[]; noRelation?: unknown[] } };
          },
      );
    const model = (id: string) =>
      recs.find((x) => x.id === id)!.relations.filter((x) => x.source === 'model');
    assert.deepEqual(
      model('semeval-1').map((x) => [x.head, x.tail, x.label]),
      [['e1', 'e2', 'Cause-Effect']],
    );
    assert.deepEqual(
      model('semeval-2').map((x) => [x.head, x.tail, x.label]),
      [['e2', 'e1', 'Cause-Effect']],
      'the reverse answer maps back to the label and direction',
    );
    assert.equal(model('semeval-3').length, 0);
    assert.ok(
      recs.find((x) => x.id === 'semeval-3')!.meta?.extraction?.noRelation?.length,
      'Other is noted as no relation',
    );
    assert.equal(model('semeval-1')[0]!.meta?.model, 'qwen');
    assert.ok(
      recs.find((x) => x.id === 'semeval-4')!.meta?.extraction?.errors?.length,
      'the bad answer is an error of its record',
    );
    assert.deepEqual(model('semeval-6'), [], 'records without results stay as they were');
  });

  it('import refuses results whose records changed since the export, and results without --batch', async () => {
    const dir = tmp();
    const input = path.join(dir, 'in.txt');
    await fs.copyFile(SAMPLE, input);
    const batch = path.join(dir, 'batch.jsonl');
    assert.equal(
      cli('export', input, '--format', 'openai-batch', '--served-model', 'm', '-o', batch).code,
      0,
    );
    const results = path.join(dir, 'results.jsonl');
    await fs.writeFile(results, '');
    assert.match(
      cli('import', results, '--from', 'openai-batch-results', '-o', path.join(dir, 'p.jsonl')).err,
      /needs --batch BATCH\.jsonl/,
    );
    await fs.appendFile(input, '\n');
    const r = cli(
      'import',
      results,
      '--from',
      'openai-batch-results',
      '--batch',
      batch,
      '-o',
      path.join(dir, 'p.jsonl'),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /in\.txt changed since the batch was exported \(sha256 differs\); export the batch again/,
    );
  });
});
