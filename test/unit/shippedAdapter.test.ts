/**
 * The adapters models/ ships (models/semeval-smollm2.gguf: SemEval-2010 Task 8 on
 * SmolLM2-135M-Instruct Q4_1), loaded by the real engine: each has a manifest naming its base, data
 * and a command the CLI has; extraction applies the one trained for the run by default (CLI and
 * engine process), says so, changes the answers, and leaves every other run alone.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import {
  DEFAULT_TEMPLATE,
  LMRC_RC_TEMPLATE,
  LMRC_TEMPLATE,
  RAG4RE_TEMPLATE,
} from '../../src/core/prompts/builtin';
import { parseRelInfo, relationSetFromRelInfo } from '../../src/core/formats/docred';
import { RelRecord } from '../../src/core/schema';
import { EngineClient } from '../../src/node/engineClient';
import { loadRecords } from '../../src/node/load';
import { runsPath } from '../../src/node/provenance';
import {
  DefaultAdapterRun,
  ShippedAdapter,
  defaultAdapterFor,
  listShippedAdapters,
} from '../../src/node/shippedAdapters';
import { ROOT, cli, cliAsync, ensureBuilt, tmp } from '../helpers/cli';
import { assertCliCommandExists } from '../helpers/manifestCommand';
import { smolLM2 } from '../helpers/models';
import { dataset, requireShared } from '../helpers/shared';

const SEMEVAL_TEST = dataset('semeval2010_task8', 'TEST_FILE_FULL.TXT');
const SEMEVAL_ADAPTER = path.join(ROOT, 'models', 'semeval-smollm2.gguf');
const DOC_ADAPTER = path.join(ROOT, 'models', 'redocred-doc.gguf');

/** The model labels of a run, record by record. */
const labels = (records: RelRecord[]): string[] =>
  records.map((r) =>
    r.relations
      .filter((x) => x.source === 'model')
      .map((x) => `${x.label}(${x.head},${x.tail})`)
      .join(' '),
  );

describe('the shipped adapters (models/*.gguf)', function () {
  this.timeout(300_000);
  let shipped: ShippedAdapter[];
  let model: string;
  let dir: string;

  before(async function () {
    shipped = await listShippedAdapters(path.join(ROOT, 'models'));
    model = smolLM2(this);
    dir = tmp('rl-shipped-');
  });

  it('each has a manifest naming its base, relation set, data and the train-lora command the CLI has; each is small', () => {
    assert.ok(
      shipped.some((a) => a.path === SEMEVAL_ADAPTER),
      shipped.map((a) => a.path).join(', '),
    );
    for (const a of shipped) {
      const m = a.manifest;
      assert.match(m.base.sha256, /^[0-9a-f]{64}$/);
      assert.match(m.data.sha256, /^[0-9a-f]{64}$/);
      // A document adapter's examples are prompts of k entity pairs each.
      const least = m.document ? 1000 : 1600;
      assert.ok(m.data.examples >= least, `${a.path}: ${m.data.examples} examples`);
      assert.ok(m.relationSet.labels.length > 1);
      assert.equal(m.training.stopped, false);
      assert.ok(statSync(a.path).size <= 25 * 2 ** 20, `${a.path} is over 25 MB`);
      assert.match(m.command ?? '', /^relation-lens train-lora /);
      assertCliCommandExists(m.command!);
    }
  });

  it('the SemEval adapter was trained on this base and fits exactly the run it was trained for', async () => {
    const run: DefaultAdapterRun = {
      modelPath: model,
      relationSet: SEMEVAL_RELATIONS,
      template: DEFAULT_TEMPLATE,
      answers: 'names',
      level: 'sentence',
      rag: false,
    };
    assert.equal((await defaultAdapterFor(run, path.join(ROOT, 'models')))?.path, SEMEVAL_ADAPTER);
    const others: Array<[string, DefaultAdapterRun]> = [
      ['another template', { ...run, template: RAG4RE_TEMPLATE }],
      ['answer codes', { ...run, answers: 'codes' }],
      ['retrieved demonstrations', { ...run, rag: true }],
      ['document level', { ...run, level: 'document' }],
      [
        'a relation set without one label',
        {
          ...run,
          relationSet: { ...SEMEVAL_RELATIONS, labels: SEMEVAL_RELATIONS.labels.slice(1) },
        },
      ],
    ];
    for (const [why, r] of others)
      assert.equal(await defaultAdapterFor(r, path.join(ROOT, 'models')), undefined, why);
    // Another model: a file of another size, and one of the same size with other bytes (sha256).
    const small = path.join(dir, 'other.gguf');
    writeFileSync(small, 'GGUF');
    const same = path.join(dir, 'same-size.gguf');
    writeFileSync(same, '');
    truncateSync(same, statSync(model).size);
    for (const m of [small, same])
      assert.equal(
        await defaultAdapterFor({ ...run, modelPath: m }, path.join(ROOT, 'models')),
        undefined,
      );
  });

  it('extract applies it by default (says so, records it, changes the answers); --no-default-adapter and --lora turn it off', async function () {
    requireShared(this, SEMEVAL_TEST);
    ensureBuilt();
    const run = (out: string, ...more: string[]) => {
      const r = cli(
        'extract',
        SEMEVAL_TEST,
        '--limit',
        '12',
        '--model',
        model,
        '--deterministic',
        '-o',
        out,
        ...more,
      );
      assert.equal(r.code, 0, r.err);
      const last = JSON.parse(readFileSync(runsPath(out), 'utf8').trim().split('\n').pop()!) as {
        adapters: Array<{ path: string }>;
      };
      return { err: r.err, adapters: last.adapters.map((a) => path.basename(a.path)) };
    };
    const withAdapter = run(path.join(dir, 'default.jsonl'));
    assert.match(
      withAdapter.err,
      /LoRA: semeval-smollm2\.gguf \(shipped adapter for .*\), applied by default/,
    );
    assert.deepEqual(withAdapter.adapters, ['semeval-smollm2.gguf']);
    const base = run(path.join(dir, 'base.jsonl'), '--no-default-adapter');
    assert.doesNotMatch(base.err, /applied by default/);
    assert.deepEqual(base.adapters, []);
    const a = labels((await loadRecords(path.join(dir, 'default.jsonl'))).records);
    const b = labels((await loadRecords(path.join(dir, 'base.jsonl'))).records);
    assert.equal(a.length, 12);
    assert.notDeepEqual(a, b, 'the adapter changes the answers');
    // A user's adapter replaces it (here the shipped file itself, named explicitly: no "default").
    const own = run(path.join(dir, 'own.jsonl'), '--lora', SEMEVAL_ADAPTER);
    assert.doesNotMatch(own.err, /applied by default/);
    assert.deepEqual(own.adapters, ['semeval-smollm2.gguf']);
  });

  it('the engine process (the editor) applies it by default and names it in the result; defaultAdapter false does not', async () => {
    ensureBuilt();
    const client = new EngineClient({ hostPath: path.join(ROOT, 'dist', 'engineHost.js') });
    try {
      const records = (await loadRecords(path.join(ROOT, 'samples', 'semeval-sample.txt'))).records;
      const request = (defaultAdapter: boolean) =>
        client.request('extract', {
          engine: { model, loras: [], defaultAdapter, threads: 2, parallel: 1, contextSize: 4096 },
          job: {
            kind: 'sentence' as const,
            records: records.slice(0, 6),
            relationSet: SEMEVAL_RELATIONS,
            template: DEFAULT_TEMPLATE,
            mode: 'score' as const,
          },
        });
      const on = await request(true);
      assert.match(on.engine.defaultAdapter ?? '', /^semeval-smollm2\.gguf \(shipped adapter for /);
      assert.deepEqual(
        on.engine.adapters.map((x) => path.basename(x.path)),
        ['semeval-smollm2.gguf'],
      );
      const off = await request(false);
      assert.equal(off.engine.defaultAdapter, undefined);
      assert.deepEqual(off.engine.adapters, []);
      assert.notDeepEqual(
        labels(on.items.map((i) => i.record)),
        labels(off.items.map((i) => i.record)),
      );
    } finally {
      await client.stop();
    }
  });

  it('the Re-DocRED document adapter fits the document run it was trained for, and extract-doc applies it by default (says so)', async function () {
    const relInfo = dataset('redocred', 'rel_info.json');
    const test = dataset('redocred', 'test_revised.json');
    requireShared(this, relInfo, test);
    ensureBuilt();
    const rs = relationSetFromRelInfo(parseRelInfo(readFileSync(relInfo, 'utf8'), relInfo));
    const run: DefaultAdapterRun = {
      modelPath: model,
      relationSet: rs,
      template: LMRC_TEMPLATE,
      answers: 'names',
      level: 'document',
      rag: false,
    };
    const models = path.join(ROOT, 'models');
    assert.equal((await defaultAdapterFor(run, models))?.path, DOC_ADAPTER);
    assert.equal(await defaultAdapterFor({ ...run, level: 'sentence' }, models), undefined);
    assert.equal(
      await defaultAdapterFor({ ...run, template: LMRC_RC_TEMPLATE }, models),
      undefined,
    );
    // The CLI says so before it extracts; stopped there (a document takes about a minute here).
    const say = async (...more: string[]) => {
      const c = cliAsync(
        'extract-doc',
        test,
        '--rel-info',
        relInfo,
        '--model',
        model,
        '--limit',
        '1',
        '-o',
        path.join(dir, `doc${more.length}.jsonl`),
        ...more,
      );
      const started = Date.now();
      let err = '';
      c.child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      while (!/^engine: .*\n/m.test(err) && Date.now() - started < 120_000)
        await new Promise((r) => setTimeout(r, 200));
      c.child.kill();
      await c.done;
      return err;
    };
    const on = await say();
    assert.match(on, /LoRA: redocred-doc\.gguf \(shipped adapter for .*\), applied by default/);
    assert.match(on, /^engine: .*; LoRA .*redocred-doc\.gguf:1$/m, 'the engine loaded it');
    const off = await say('--no-default-adapter');
    assert.match(off, /^engine: /m);
    assert.doesNotMatch(off, /applied by default|LoRA/);
  });
});
