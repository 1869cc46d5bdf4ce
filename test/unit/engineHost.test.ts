/** The engine process (dist/engineHost.js) and its client: typed requests, progress, cancellation, crash and restart. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { parseRelInfo, relationSetFromRelInfo } from '../../src/core/formats/docred';
import { RelRecord, validateRecord } from '../../src/core/schema';
import { EngineClient, EngineCrashedError, EngineRequestError } from '../../src/node/engineClient';
import { loadRecords } from '../../src/node/load';
import { TensorType, llamaModel, writeGguf } from '../fixtures/gguf';
import { DEFAULT_TEMPLATE } from '../../src/core/prompts/builtin';

const ROOT = path.resolve(__dirname, '..', '..');
const HOST = path.join(ROOT, 'dist', 'engineHost.js');

describe('engine process (out of the extension host)', function () {
  this.timeout(300_000);
  let dir: string;
  let model: string;
  let sample: RelRecord[];
  let client: EngineClient;
  const crashes: EngineCrashedError[] = [];
  const logs: string[] = [];

  before(async () => {
    assert.equal(
      spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT }).status,
      0,
    );
    dir = mkdtempSync(path.join(tmpdir(), 'rl-host-'));
    model = path.join(dir, 'tiny.gguf');
    const m = llamaModel(
      { vocab: 259, embd: 64, layers: 2, ff: 128, heads: 4, headsKv: 2, context: 4096 },
      TensorType.F32,
      3,
    );
    await writeGguf(model, m.metadata, m.tensors);
    sample = (await loadRecords(path.join(ROOT, 'samples', 'semeval-sample.txt'))).records;
    client = new EngineClient({
      hostPath: HOST,
      onCrash: (e) => crashes.push(e),
      log: (_l, m) => logs.push(m),
    });
  });
  after(async () => {
    await client?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Many distinct records, so that a job runs long enough to be cancelled or crashed midway. */
  const many = () =>
    Array.from({ length: 40 }, (_, i) => sample.map((r) => ({ ...r, id: `${r.id}-${i}` }))).flat();
  const job = (records: RelRecord[]) => ({
    engine: { model, loras: [], threads: 2, parallel: 2, contextSize: 4096 },
    job: {
      kind: 'sentence' as const,
      records,
      relationSet: SEMEVAL_RELATIONS,
      template: DEFAULT_TEMPLATE,
      mode: 'score' as const,
    },
  });

  it('runs in its own process and answers typed requests', async () => {
    const r = await client.request('ping', {});
    assert.ok(r.pid !== process.pid && r.pid === client.pid);
    assert.ok(logs.some((l) => /engine process \d+ ready/.test(l)));
  });

  it('extracts with a real GGUF model, streaming progress; every label is in the set', async () => {
    const progress: number[] = [];
    const r = await client.request('extract', job(sample.slice(0, 4)), {
      onProgress: (p) => progress.push(p.done),
    });
    assert.equal(r.items.length, 4);
    assert.equal(r.engine.backend, 'CPU');
    assert.deepEqual(r.errors, []);
    assert.ok(r.tokensPerSecond > 0, JSON.stringify({ tps: r.tokensPerSecond, ms: r.elapsedMs }));
    assert.deepEqual(progress, [1, 2, 3, 4]);
    const labels = new Set([...SEMEVAL_RELATIONS.labels.map((l) => l.name)]);
    for (const it of r.items) {
      assert.ok(validateRecord(it.record).ok);
      assert.equal(it.pairs.length, 1);
      for (const rel of it.record.relations.filter((x) => x.source === 'model'))
        assert.ok(labels.has(rel.label));
    }
  });

  it("document mode encoder (the editor's relationLens.document.mode): a paragraph's entities and relations from the shipped encoder", async function () {
    const relInfo = path.resolve(ROOT, '..', 'shared', 'datasets', 'redocred', 'rel_info.json');
    if (!existsSync(relInfo)) {
      console.log(`    SKIP: ${relInfo} is not available`);
      this.skip();
    }
    const rs = relationSetFromRelInfo(parseRelInfo(readFileSync(relInfo, 'utf8'), relInfo));
    const text =
      'Marie Curie was a Polish physicist. In 1891 she moved to Paris, where she studied at the University of Paris.\n';
    const r = await client.request('extract', {
      engine: { model, loras: [], threads: 2, parallel: 1, contextSize: 4096 },
      job: {
        kind: 'document' as const,
        inputs: [{ id: 'curie.txt', text }],
        relationSet: rs,
        template: 'lmrc',
        k: 8,
        mode: 'encoder' as const,
        filter: 'auto' as const,
      },
    });
    const rec = r.items[0]!.record;
    const names = rec.entities.map((e) => e.name);
    assert.ok(names.includes('Marie Curie') && names.includes('Paris'), names.join(', '));
    assert.equal((rec.meta?.['extraction'] as { method?: string }).method, 'lmrc');
    assert.ok(rec.relations.length >= 1 && rec.relations.every((x) => x.source === 'model'));
    assert.match(String((rec.meta?.['extraction'] as { model?: string }).model), /^encoder:/);
  });

  it('refuses invalid requests with a clear error, and a bad model path with its name', async () => {
    await assert.rejects(
      client.request('extract', {
        ...job(sample.slice(0, 1)),
        engine: { ...job([]).engine, model: path.join(dir, 'missing.gguf') },
      }),
      (e: Error) => e instanceof EngineRequestError && /missing\.gguf/.test(e.message),
    );
    await assert.rejects(
      client.request('extract', { bogus: true } as never),
      (e: Error) => e instanceof EngineRequestError && e.name === 'ProtocolError',
    );
  });

  it('cancellation stops the job in the engine', async () => {
    const c = new AbortController();
    let last = 0;
    const p = client.request('extract', job(many()), {
      signal: c.signal,
      onProgress: (x) => {
        last = x.done;
        c.abort();
      },
    });
    await assert.rejects(p, (e: Error) => e.name === 'AbortError');
    assert.ok(last < 100, `stopped after ${last} of 480 pairs`);
    assert.equal(
      (await client.request('ping', {})).pid,
      client.pid,
      'the process survives a cancellation',
    );
  });

  it('a native crash fails the pending request with EngineCrashedError, and a restart brings the engine back', async () => {
    const before = client.pid;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const pending = client.request('extract', job(many()), { onProgress: () => started() });
    await running;
    const crash = client.request('crash', {});
    await assert.rejects(pending, EngineCrashedError);
    await assert.rejects(crash, EngineCrashedError);
    assert.equal(crashes.length, 1);
    assert.match(crashes[0]!.message, /signal SIGKILL/);
    assert.equal(client.running, false);
    client.start();
    const r = await client.request('ping', {});
    assert.notEqual(r.pid, before);
  });
});
