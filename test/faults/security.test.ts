/**
 * Where keys and texts may go (issue 26), tried as an attacker would with a second loopback host:
 * the user's server on 127.0.0.1, another on 127.0.0.2 that records every request it gets.
 * - An index folder is a file people share: its manifest.json naming another host sends nothing
 *   there (no query text, no key) unless the user names that host; then the texts go, never the
 *   key of another endpoint.
 * - Redirects to another origin are refused (prompts and keys stay with the named endpoint);
 *   same-origin ones are followed, and a POST turned into a GET is refused with a clear message.
 * - An answer larger than the cap is refused while it streams.
 * - Every setting naming a file, a folder or a server is restricted in untrusted workspaces.
 */
import { strict as assert } from 'node:assert';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { MAX_RESPONSE_BYTES, ServerEngine } from '../../src/engine/server';
import { EngineClient } from '../../src/node/engineClient';
import { loadRecords } from '../../src/node/load';
import { SEMEVAL_RELATIONS } from '../../src/core/formats/semeval';
import { DEFAULT_TEMPLATE } from '../../src/core/prompts/builtin';
import { PATH_SETTINGS } from '../../src/vscode/trust';
import { ROOT, SAMPLE, cliAsyncWith, ensureBuilt, tmp } from '../helpers/cli';
import { Stub, StubAnswer, stubServer } from '../helpers/stubServer';

/** A deterministic 16-dimension "embedding" of a text (letter counts): enough for a kNN vote. */
function vector(text: string): number[] {
  const v = new Array<number>(16).fill(0.01);
  for (const c of text.toLowerCase()) {
    const k = c.charCodeAt(0);
    if (k >= 97 && k <= 122) v[k % 16]! += 1;
  }
  return v;
}

/** An OpenAI-compatible embeddings server: /v1/models and /v1/embeddings. */
function embeddings(req: IncomingMessage, body: string): StubAnswer {
  if (req.method === 'GET' && req.url?.endsWith('/models'))
    return { body: JSON.stringify({ object: 'list', data: [{ id: 'emb' }] }) };
  if (req.method === 'POST' && req.url?.endsWith('/embeddings')) {
    const { input } = JSON.parse(body) as { input: string };
    return { body: JSON.stringify({ data: [{ index: 0, embedding: vector(input) }] }) };
  }
  return { status: 404, body: JSON.stringify({ error: { message: 'not found' } }) };
}

/** `index build SAMPLE --embedder EMBEDDER -o OUT` with `env` added to the environment. */
const indexBuild = (env: Record<string, string | undefined>, embedder: string, out: string) =>
  cliAsyncWith(env, 'index', 'build', SAMPLE, '--embedder', embedder, '-o', out).done;

/** `extract SAMPLE --mode knn --rag IDX [more] -o OUT` with `env` added to the environment. */
const knnWith = (
  env: Record<string, string | undefined>,
  idx: string,
  out: string,
  ...more: string[]
) => cliAsyncWith(env, 'extract', SAMPLE, '--mode', 'knn', '--rag', idx, ...more, '-o', out).done;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('security: keys and texts go only where the user said (a second loopback host)', function () {
  this.timeout(120_000);
  let user: Stub;
  let other: Stub;
  before(async () => {
    ensureBuilt();
    user = await stubServer(embeddings);
    other = await stubServer(embeddings, '127.0.0.2');
  });
  after(async () => {
    await user?.close();
    await other?.close();
  });

  /** An index of the sample embedded by the user's server, then its manifest pointed at `to`. */
  async function indexNaming(to: Stub): Promise<string> {
    const idx = path.join(tmp(), 'idx');
    const b = await indexBuild({ RELATION_LENS_API_KEY: 'user-key' }, `openai:${user.url}`, idx);
    assert.equal(b.code, 0, b.err);
    assert.match(b.err, new RegExp(`embeddings from ${escape(user.url)}, with an API key`));
    const mf = path.join(idx, 'manifest.json');
    const m = JSON.parse(await fs.readFile(mf, 'utf8')) as { embedder: string };
    assert.equal(m.embedder, `openai:${user.url}#emb`);
    m.embedder = `openai:${to.url}#emb`;
    await fs.writeFile(mf, JSON.stringify(m));
    return idx;
  }

  it('index build sends the key to the server named on the command line, and to no other', async () => {
    const before = user.seen.length;
    await indexNaming(user);
    const mine = user.seen.slice(before);
    assert.ok(mine.length >= 13, 'models, the probe and 12 sentences');
    for (const s of mine) assert.equal(s.auth, 'Bearer user-key');
    // Without a key in the environment, none is sent.
    const idx = path.join(tmp(), 'idx');
    const n = user.seen.length;
    const b = await indexBuild({ RELATION_LENS_API_KEY: undefined }, `openai:${user.url}`, idx);
    assert.equal(b.code, 0, b.err);
    assert.match(b.err, /without an API key/);
    for (const s of user.seen.slice(n)) assert.equal(s.auth, undefined);
  });

  it('an index whose manifest names another host: refused before any request (knn and with --endpoint); no text, no key goes there', async () => {
    const idx = await indexNaming(other);
    const dir = tmp();
    const refusal = new RegExp(
      `manifest\\.json: this index embeds its queries through ${escape(other.url)} \\(model emb\\), a server you have not named: the record texts would be sent there\\. If you trust that server, pass --embeddings-endpoint`,
    );
    // The nearest-neighbour vote (no engine) with the key in the environment.
    const knn = await knnWith(
      { RELATION_LENS_API_KEY: 'user-key' },
      idx,
      path.join(dir, 'a.jsonl'),
    );
    assert.equal(knn.code, 1, knn.err);
    assert.match(knn.err, refusal);
    assert.ok(!existsSync(path.join(dir, 'a.jsonl')), 'no output');
    // --endpoint names the user's server and --api-key-env another key: still refused.
    const served = await cliAsyncWith(
      { RELATION_LENS_API_KEY: 'user-key', RL_OTHER_KEY: 'other-key' },
      'extract',
      SAMPLE,
      '--engine',
      'openai',
      '--endpoint',
      user.url,
      '--api-key-env',
      'RL_OTHER_KEY',
      '--rag',
      idx,
      '-o',
      path.join(dir, 'b.jsonl'),
    ).done;
    assert.equal(served.code, 1, served.err);
    assert.match(served.err, refusal);
    assert.equal(other.seen.length, 0, 'the other host got no request');
  });

  it('--embeddings-endpoint names the host: the texts go there, no key of another endpoint; its own key with --embeddings-api-key-env', async () => {
    const idx = await indexNaming(other);
    const dir = tmp();
    const n = other.seen.length;
    const r = await knnWith(
      { RELATION_LENS_API_KEY: 'user-key' },
      idx,
      path.join(dir, 'a.jsonl'),
      '--embeddings-endpoint',
      other.url,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      new RegExp(`query embeddings from ${escape(other.url)} \\(model emb\\), without an API key`),
    );
    const got = other.seen.slice(n);
    assert.ok(got.length >= 12, 'the queries were embedded there');
    for (const s of got) assert.equal(s.auth, undefined, 'no key goes with them');
    // The user's own server for this index, with its own key.
    const m = user.seen.length;
    const own = await knnWith(
      { RELATION_LENS_API_KEY: 'user-key', RL_EMB_KEY: 'emb-key' },
      idx,
      path.join(dir, 'b.jsonl'),
      '--embeddings-endpoint',
      user.url,
      '--embeddings-api-key-env',
      'RL_EMB_KEY',
    );
    assert.equal(own.code, 0, own.err);
    assert.match(own.err, /, with an API key/);
    const mine = user.seen.slice(m);
    assert.ok(mine.length >= 12);
    for (const s of mine) assert.equal(s.auth, 'Bearer emb-key');
    assert.equal(other.seen.length, got.length + n, 'nothing more went to the other host');
  });

  it("the editor's engine process: an index naming another host than the configured server is refused; the configured one gets its key", async () => {
    const client = new EngineClient({
      hostPath: path.join(ROOT, 'dist', 'engineHost.js'),
      onCrash: () => undefined,
      log: () => undefined,
    });
    try {
      const records = (await loadRecords(SAMPLE)).records;
      const extract = (index: string) =>
        client.request('extract', {
          engine: { model: 'unused', loras: [] },
          job: {
            kind: 'sentence',
            records,
            relationSet: SEMEVAL_RELATIONS,
            template: DEFAULT_TEMPLATE,
            mode: 'knn',
            rag: { index, k: 3, server: { endpoint: user.url, apiKey: 'editor-key' } },
          },
        });
      const n = other.seen.length;
      await assert.rejects(extract(await indexNaming(other)), /a server you have not named/);
      assert.equal(other.seen.length, n, 'the other host got no request');
      const m = user.seen.length;
      const x = await extract(await indexNaming(user));
      assert.deepEqual(x.errors, []);
      assert.equal(x.items.length, 12);
      const mine = user.seen.slice(m).filter((s) => s.auth === 'Bearer editor-key');
      assert.ok(mine.length >= 12, 'the queries went to the configured server with its key');
    } finally {
      await client.stop();
    }
  });

  it('redirects: to another host refused (the POSTs never reach it); same-origin 307 followed; a POST turned into a GET refused', async () => {
    // Every POST is sent on to the other host with 307 (method and body kept).
    const redirector = await stubServer((req) =>
      req.method === 'POST'
        ? { status: 307, headers: { location: `${other.origin}${req.url}` } }
        : req.url?.endsWith('/models')
          ? {
              body: JSON.stringify({ object: 'list', data: [{ id: 'emb', owned_by: 'vllm' }] }),
            }
          : { status: 404, body: '{}' },
    );
    const within = await stubServer((req, body, origin) =>
      req.url === '/v1/embeddings'
        ? { status: 307, headers: { location: `${origin}/v2/embeddings` } }
        : req.url === '/v2/embeddings'
          ? embeddings({ ...req, url: '/v1/embeddings' } as IncomingMessage, body)
          : embeddings(req, body),
    );
    const toGet = await stubServer((req, body, origin) =>
      req.method === 'POST'
        ? { status: 302, headers: { location: `${origin}/v2/embeddings` } }
        : embeddings(req, body),
    );
    try {
      const n = other.seen.length;
      const dir = tmp();
      const b = await indexBuild(
        { RELATION_LENS_API_KEY: 'user-key' },
        `openai:${redirector.url}`,
        path.join(dir, 'idx'),
      );
      assert.equal(b.code, 1, b.err);
      assert.match(
        b.err,
        new RegExp(
          `redirects \\(HTTP 307\\) to ${escape(other.origin)}, another host: not followed — prompts, record texts and the API key go only to the endpoint you named`,
        ),
      );
      assert.ok(!existsSync(path.join(dir, 'idx', 'manifest.json')));
      // Extraction through a server whose completions redirect to the other host.
      const x = await cliAsyncWith(
        { RELATION_LENS_API_KEY: 'user-key' },
        'extract',
        SAMPLE,
        '--engine',
        'openai',
        '--endpoint',
        redirector.url,
        '--mode',
        'generate',
        '--limit',
        '2',
        '-o',
        path.join(dir, 'x.jsonl'),
      ).done;
      assert.notEqual(x.code, 0, x.err);
      assert.match(x.err, /redirects \(HTTP 307\) to http:\/\/127\.0\.0\.2:\d+, another host/);
      assert.ok(
        redirector.seen.some((s) => s.method === 'POST'),
        'the run did send its POSTs',
      );
      assert.equal(other.seen.length, n, 'none of them reached the other host');
      // Same origin, 307: followed, method and body kept.
      const ok = await indexBuild(
        { RELATION_LENS_API_KEY: undefined },
        `openai:${within.url}`,
        path.join(dir, 'idx2'),
      );
      assert.equal(ok.code, 0, ok.err);
      assert.ok(within.seen.some((s) => s.url === '/v2/embeddings' && s.method === 'POST'));
      // Same origin, 302 on a POST: a clear message, not a socket error.
      const g = await indexBuild(
        { RELATION_LENS_API_KEY: undefined },
        `openai:${toGet.url}`,
        path.join(dir, 'idx3'),
      );
      assert.equal(g.code, 1, g.err);
      assert.match(
        g.err,
        /redirects \(HTTP 302\) to http:\/\/127\.0\.0\.1:\d+\/v2\/embeddings, which turns the POST into a GET; not followed/,
      );
      assert.ok(!toGet.seen.some((s) => s.method === 'GET' && s.url === '/v2/embeddings'));
    } finally {
      await redirector.close();
      await within.close();
      await toGet.close();
    }
  });

  it('an answer larger than the cap is refused as it streams (with or without a Content-Length)', async () => {
    const big = Buffer.alloc(MAX_RESPONSE_BYTES + 1024, 0x20);
    let chunked = false;
    const huge = await stubServer(() =>
      chunked ? { body: big } : { headers: { 'content-length': String(big.length) }, body: big },
    );
    try {
      await assert.rejects(
        ServerEngine.open({ endpoint: huge.url, retries: 0 }),
        /the answer is larger than 16 MiB; not read/,
      );
      chunked = true;
      await assert.rejects(
        ServerEngine.open({ endpoint: huge.url, retries: 0 }),
        /the answer is larger than 16 MiB; not read/,
      );
    } finally {
      await huge.close();
    }
  });
});

type SettingDecl = {
  type?: string | string[];
  description?: string;
  markdownDescription?: string;
};

describe('security: workspace settings in restricted mode', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

  /**
   * Settings that name a file or folder to load, or a server and what to ask it — read from what
   * each setting's description says it holds, not from a list kept by hand.
   */
  function pathOrServerSettings(): string[] {
    const c = pkg.contributes.configuration as
      | { properties: Record<string, SettingDecl> }
      | Array<{ properties: Record<string, SettingDecl> }>;
    const all: Record<string, SettingDecl> = Object.assign(
      {},
      ...(Array.isArray(c) ? c : [c]).map((x) => x.properties),
    );
    return Object.entries(all)
      .filter(
        ([key, d]) =>
          // A switch or a number names nothing.
          ![d.type].flat().every((t) => t === 'boolean' || t === 'integer' || t === 'number') &&
          (key.startsWith('relationLens.server.') ||
            /\b(files?|paths?|folders?|URLs?|URIs?|endpoints?|GGUF)\b|\.(json|txt)\b/i.test(
              `${d.description ?? ''} ${d.markdownDescription ?? ''}`,
            )),
      )
      .map(([key]) => key)
      .sort();
  }

  it('every setting that names a file, a folder or a server is restricted, in package.json and in the code', () => {
    const derived = pathOrServerSettings();
    // The derivation finds what it must.
    for (const k of [
      'relationLens.model',
      'relationLens.loras',
      'relationLens.template',
      'relationLens.ragIndex',
      'relationLens.document.filter',
      'relationLens.document.template',
      'relationLens.server.endpoint',
      'relationLens.server.model',
    ])
      assert.ok(derived.includes(k), `${k} is found as a path or server setting`);
    assert.ok(!derived.includes('relationLens.k'), 'a number is not');
    const restricted = new Set<string>(
      pkg.capabilities.untrustedWorkspaces.restrictedConfigurations,
    );
    assert.deepEqual(
      derived.filter((k) => !restricted.has(k)),
      [],
      'missing from capabilities.untrustedWorkspaces.restrictedConfigurations',
    );
    const inCode = new Set(PATH_SETTINGS.map((k) => `relationLens.${k}`));
    assert.deepEqual(
      derived.filter((k) => !inCode.has(k)),
      [],
      'missing from PATH_SETTINGS (src/vscode/trust.ts): the code would read it from the workspace',
    );
    assert.deepEqual([...restricted].sort(), [...inCode].sort(), 'the manifest and the code agree');
  });
});
