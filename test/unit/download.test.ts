/** Model downloads through node-llama-cpp's downloader, against a local HTTP server started here. */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, promises as fs, readdirSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AbortError } from '../../src/core/ports';
import { LlamaEngine } from '../../src/engine/llama';
import { resolveModel } from '../../src/engine/models';
import { TensorType, llamaModel, writeGguf } from '../fixtures/gguf';

describe('model download (local HTTP server)', () => {
  let dir: string;
  let model: Buffer;
  let sha: string;
  let server: http.Server;
  let base: string;
  const requests: string[] = [];
  let served = 0;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rl-dl-'));
    const src = path.join(dir, 'source.gguf');
    const m = llamaModel(
      { vocab: 259, embd: 64, layers: 2, ff: 128, heads: 4, headsKv: 2, context: 256 },
      TensorType.F32,
      3,
    );
    await writeGguf(src, m.metadata, m.tensors);
    model = await fs.readFile(src);
    sha = createHash('sha256').update(model).digest('hex');
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url?.startsWith('/slow/')) {
        // 16 KiB every 100 ms: slow enough to cancel in the middle
        res.writeHead(200, {
          'Content-Length': model.length,
          'Content-Type': 'application/octet-stream',
        });
        let off = 0;
        const timer = setInterval(() => {
          if (off >= model.length || res.destroyed) {
            clearInterval(timer);
            return void res.end();
          }
          res.write(model.subarray(off, off + 16384));
          off += 16384;
          served = off;
        }, 100);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (!req.url?.startsWith('/models/') && !req.url?.includes('/resolve/')) {
        res.writeHead(404);
        return void res.end('not found');
      }
      res.writeHead(200, {
        'Content-Length': model.length,
        'Content-Type': 'application/octet-stream',
      });
      res.end(req.method === 'HEAD' ? undefined : model);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('downloads with progress, checks the sha256, loads, and reuses the cached file', async () => {
    const cache = path.join(dir, 'cache1');
    const progress: number[] = [];
    const file = await resolveModel(`${base}/models/tiny.gguf`, {
      directory: cache,
      sha256: sha,
      onProgress: (d) => progress.push(d),
    });
    assert.deepEqual(await fs.readFile(file), model);
    assert.ok(progress.length > 0 && progress[progress.length - 1] === model.length);
    const engine = await LlamaEngine.open({ modelPath: file, contextSize: 256 });
    await engine.dispose();
    const stamp = (await fs.stat(file)).mtimeMs;
    assert.equal(
      await resolveModel(`${base}/models/tiny.gguf`, { directory: cache, sha256: sha }),
      file,
    );
    assert.equal(
      (await fs.stat(file)).mtimeMs,
      stamp,
      'the cached file was used, not downloaded again',
    );
  });

  it('resolves an hf: URI through the Hugging Face endpoint (here: the local server)', async () => {
    const file = await resolveModel('hf:relation-lens/tiny-test/tiny.gguf', {
      directory: path.join(dir, 'cache-hf'),
      huggingFaceEndpoint: base,
      sha256: sha,
    });
    assert.deepEqual(await fs.readFile(file), model);
    assert.ok(
      requests.some((r) => r.includes('/relation-lens/tiny-test/resolve/main/tiny.gguf')),
      requests.join(', '),
    );
  });

  it('without a published digest, the first download is pinned: a file changed in the cache since is refused', async () => {
    const cache = path.join(dir, 'cache-pin');
    const file = await resolveModel(`${base}/models/tiny.gguf`, { directory: cache });
    const pin = (await fs.readFile(`${file}.sha256`, 'utf8')).split(' ')[0];
    assert.equal(pin, sha, 'the sha256 of the download, written beside it');
    assert.equal(await resolveModel(`${base}/models/tiny.gguf`, { directory: cache }), file);
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await fs.writeFile(file, bytes);
    await assert.rejects(
      resolveModel(`${base}/models/tiny.gguf`, { directory: cache }),
      new RegExp(`checksum mismatch for .*tiny\\.gguf: sha256 [0-9a-f]{64}, expected ${sha}`),
    );
  });

  it('a wrong checksum is refused with a message naming the file', async () => {
    await assert.rejects(
      resolveModel(`${base}/models/tiny.gguf`, {
        directory: path.join(dir, 'cache2'),
        sha256: '0'.repeat(64),
      }),
      /checksum mismatch for .*tiny\.gguf: sha256 [0-9a-f]{64}, expected 0{64}/,
    );
  });

  it('a cancelled download stops and leaves no model file behind', async () => {
    const cache = path.join(dir, 'cache3');
    const c = new AbortController();
    setTimeout(() => c.abort(), 600);
    await assert.rejects(
      resolveModel(`${base}/slow/tiny.gguf`, { directory: cache, signal: c.signal }),
      (e: unknown) => e instanceof AbortError,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(
      served > 0 && served < model.length,
      `the server sent ${served} of ${model.length} bytes before the client went away`,
    );
    const left = existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.gguf')) : [];
    assert.deepEqual(left, []);
  });

  it('a missing remote file is a clear error', async () => {
    await assert.rejects(
      resolveModel(`${base}/nothing/here.gguf`, { directory: path.join(dir, 'cache4') }),
      /cannot download model http:\/\/127\.0\.0\.1:\d+\/nothing\/here\.gguf/,
    );
  });
});
