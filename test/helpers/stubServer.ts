/**
 * Small HTTP servers on a loopback address for the tests that need a misbehaving or recording
 * OpenAI-compatible server (no model): every request is recorded, the answer is the handler's.
 */
import { IncomingMessage, createServer } from 'node:http';

export interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

export interface StubAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface Stub {
  /** `http://HOST:PORT/v1` */
  url: string;
  /** `http://HOST:PORT` */
  origin: string;
  seen: Seen[];
  close(): Promise<void>;
}

/** A server on `host` (a free port) that records every request and answers with `handle`. */
export async function stubServer(
  handle: (req: IncomingMessage, body: string, origin: string) => StubAnswer,
  host = '127.0.0.1',
): Promise<Stub> {
  const seen: Seen[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        auth: req.headers.authorization,
        body,
      });
      const a = handle(req, body, origin);
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as { port: number }).port));
  });
  origin = `http://${host}:${port}`;
  return {
    url: `${origin}/v1`,
    origin,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The parts of a chat-completions request a stub answers by. */
export interface ChatBody {
  messages: Array<{ content: string }>;
  structured_outputs?: { choice?: string[] };
}

/**
 * A vLLM-like chat server: `/v1/models` lists `model`; every POST is answered with the message
 * content `answer` returns for its body, whatever the constraint asked.
 */
export async function chatStub(
  answer: (body: ChatBody) => string,
  model = 'stub',
): Promise<Stub & { posts: () => number }> {
  const stub = await stubServer((req, body) => {
    if (req.url === '/v1/models')
      return { body: JSON.stringify({ object: 'list', data: [{ id: model, owned_by: 'vllm' }] }) };
    if (req.method !== 'POST') return { body: '{}' };
    const content = answer(JSON.parse(body) as ChatBody);
    return {
      body: JSON.stringify({
        choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 3 },
      }),
    };
  });
  return { ...stub, posts: () => stub.seen.filter((s) => s.method === 'POST').length };
}
