/**
 * The serving engines' request fields, proven against the servers' own code (issue 26): every
 * request body the project sends in each flavor — constrained choice, grammar, JSON schema,
 * logprobs, embeddings, OpenAI batch lines — is validated by vLLM's and SGLang's pydantic request
 * models (the pinned wheels' OpenAI protocol modules, in .cache/contract-venv from
 * scripts/setup-contract.sh), and no field is one the model does not know (a server ignores those
 * silently, so the constraint would not apply). Then the servers' own response models build the
 * answers, and the project's reader reads them back.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ServerEngine } from '../../src/engine/server';
import { ServerFlavor } from '../../src/core/ports';
import { ROOT, SAMPLE, cliAsync, ensureBuilt, tmp } from '../helpers/cli';
import { Stub, stubServer } from '../helpers/stubServer';

const VENV =
  process.env['RELATION_LENS_CONTRACT_VENV'] ?? path.join(ROOT, '.cache', 'contract-venv');
const PY = path.join(VENV, 'bin', 'python');
const CHECKER = path.join(__dirname, 'check_requests.py');

interface Body {
  id: string;
  flavor: ServerFlavor;
  path: string;
  body: Record<string, unknown>;
}

interface Result {
  servers: Record<string, { version?: string; skip?: string }>;
  checks: Array<{ id: string; server: string; ok: boolean; unknown: string[]; error?: string }>;
  responses: Record<string, Record<string, unknown>>;
}

function runChecker(file: string): Result {
  const r = spawnSync(PY, [CHECKER, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Result;
}

/** An answer the request's constraint allows (a first label), in the flavor's form; none for other requests. */
function answerFor(b: Record<string, unknown>): string | undefined {
  const so = b['structured_outputs'] as { choice?: string[] } | undefined;
  if (so?.choice) return so.choice[0]!;
  if (typeof b['regex'] === 'string')
    return (b['regex'] as string).split('|')[0]!.replace(/\\(.)/g, '$1');
  const rf = b['response_format'] as
    { json_schema?: { schema?: { properties?: { answer?: { enum?: string[] } } } } } | undefined;
  const e = rf?.json_schema?.schema?.properties?.answer?.enum;
  if (e) return JSON.stringify({ answer: e[0] });
  return undefined;
}

/** A stub that records every body and answers with a server's own response shape. */
async function recordingStub(
  response: Record<string, unknown>,
  seen: Array<{ path: string; body: Record<string, unknown> }>,
): Promise<Stub> {
  return stubServer((req, text) => {
    if (req.method === 'GET')
      return { body: JSON.stringify({ object: 'list', data: [{ id: 'm' }] }) };
    const body = JSON.parse(text) as Record<string, unknown>;
    const p = (req.url ?? '').replace(/^\/v1\//, '');
    seen.push({ path: p, body });
    if (p === 'embeddings')
      return { body: JSON.stringify({ data: [{ index: 0, embedding: [0.1, 0.2, 0.3, 0.4] }] }) };
    const r = structuredClone(response) as {
      choices: Array<{ message: { content: string } }>;
    };
    const a = answerFor(body);
    if (!body['logprobs'] && a !== undefined) r.choices[0]!.message.content = a;
    return { body: JSON.stringify(r) };
  });
}

const DOC = {
  id: 'doc',
  text: 'Marie Curie was born in Warsaw. She worked in Paris.',
  entities: [
    { id: 'e1', name: 'Marie Curie', type: 'PER', mentions: [{ start: 0, end: 11 }] },
    { id: 'e2', name: 'Warsaw', type: 'LOC', mentions: [{ start: 24, end: 30 }] },
    { id: 'e3', name: 'Paris', type: 'LOC', mentions: [{ start: 46, end: 51 }] },
  ],
  relations: [],
  sentences: [
    { start: 0, end: 31 },
    { start: 32, end: 52 },
  ],
};

/**
 * Every request body the project sends, per flavor: the CLI's own runs (extract in score,
 * generate and code modes, extract-doc, index build) against a stub answering in the shape of
 * `shape` (a server's own response), and the first lines of an OpenAI batch file.
 */
async function collectBodies(shape: Record<string, unknown>): Promise<Body[]> {
  const bodies: Body[] = [];
  const dir = tmp();
  const relations = path.join(dir, 'relations.json');
  await fs.writeFile(
    relations,
    JSON.stringify({
      name: 'geo',
      directed: true,
      noRelation: null,
      labels: [{ name: 'born in' }, { name: 'worked in' }],
    }),
  );
  const doc = path.join(dir, 'doc.jsonl');
  await fs.writeFile(doc, JSON.stringify(DOC) + '\n');
  const flavors: ServerFlavor[] = ['vllm', 'sglang', 'openai', 'ollama'];
  for (const flavor of flavors) {
    const seen: Array<{ path: string; body: Record<string, unknown> }> = [];
    const stub = await recordingStub(shape, seen);
    const run = async (what: string, ...args: string[]) => {
      const before = seen.length;
      const r = await cliAsync(...args).done;
      assert.ok(r.code === 0 || r.code === 3, `${flavor} ${what}: ${r.err}`);
      for (const s of seen.slice(before))
        bodies.push({ id: `${flavor} ${what} ${s.path}`, flavor, ...s });
    };
    const server = ['--engine', 'openai', '--endpoint', stub.url, '--server-flavor', flavor];
    try {
      for (const mode of ['score', 'generate'])
        await run(
          `extract --mode ${mode}`,
          'extract',
          SAMPLE,
          ...server,
          '--mode',
          mode,
          '--limit',
          '2',
          '-o',
          path.join(dir, `${flavor}-${mode}.jsonl`),
        );
      await run(
        'extract --answers codes',
        'extract',
        SAMPLE,
        ...server,
        '--mode',
        'score',
        '--answers',
        'codes',
        '--limit',
        '1',
        '-o',
        path.join(dir, `${flavor}-codes.jsonl`),
      );
      await run(
        'extract-doc',
        'extract-doc',
        doc,
        ...server,
        '--relations',
        relations,
        '-o',
        path.join(dir, `${flavor}-doc.jsonl`),
      );
      await run(
        'index build',
        'index',
        'build',
        SAMPLE,
        '--embedder',
        `openai:${stub.url}#m`,
        '-o',
        path.join(dir, `${flavor}-idx`),
      );
    } finally {
      await stub.close();
    }
    // The OpenAI batch file's request lines.
    const batch = path.join(dir, `${flavor}-batch.jsonl`);
    const b = await cliAsync(
      'export',
      SAMPLE,
      '--format',
      'openai-batch',
      '--server-flavor',
      flavor,
      '--served-model',
      'm',
      '-o',
      batch,
    ).done;
    assert.equal(b.code, 0, b.err);
    for (const [i, l] of (await fs.readFile(batch, 'utf8')).split('\n').filter(Boolean).entries()) {
      const line = JSON.parse(l) as { url: string; body: Record<string, unknown> };
      if (i < 3)
        bodies.push({
          id: `${flavor} batch line ${i + 1}`,
          flavor,
          path: line.url.replace(/^\/v1\//, ''),
          body: line.body,
        });
    }
  }
  return bodies;
}

describe('serving contract: request bodies checked by vLLM’s and SGLang’s own request models', function () {
  this.timeout(600_000);
  let result: Result;
  const bodies: Body[] = [];

  before(async function () {
    if (!existsSync(path.join(VENV, '.ready'))) {
      console.log(
        `    SKIP: the serving contract venv is not set up in ${VENV} (scripts/setup-contract.sh installs vLLM and SGLang --no-deps from PyPI)`,
      );
      this.skip();
    }
    ensureBuilt();
    const dir = tmp();
    // The servers' own example answers first (built by their response models).
    const empty = path.join(dir, 'none.json');
    await fs.writeFile(empty, '[]');
    const first = runChecker(empty);
    const shape = (first.responses['vllm'] ?? first.responses['sglang']) as
      Record<string, unknown> | undefined;
    assert.ok(shape && !('error' in shape), JSON.stringify(first.responses));
    bodies.push(...(await collectBodies(shape)));
    // A control: a misspelled constraint field, which a server would ignore silently.
    bodies.push({
      id: 'control misspelled field',
      flavor: 'vllm',
      path: 'chat/completions',
      body: { model: 'm', messages: [{ role: 'user', content: 'x' }], guided_choicez: ['a'] },
    });
    const file = path.join(dir, 'bodies.json');
    await fs.writeFile(file, JSON.stringify(bodies));
    result = runChecker(file);
    for (const [name, s] of Object.entries(result.servers))
      console.log(`    ${name}: ${s.version ? `version ${s.version}` : `SKIP: ${s.skip}`}`);
  });

  it('the runs sent every kind of body: constrained choice, grammar or JSON schema, logprobs, embeddings, batch lines', () => {
    const has = (flavor: string, pred: (b: Record<string, unknown>) => boolean) =>
      bodies.some((b) => b.flavor === flavor && pred(b.body));
    assert.ok(has('vllm', (b) => !!(b['structured_outputs'] as { choice?: unknown })?.choice));
    assert.ok(has('vllm', (b) => !!(b['structured_outputs'] as { grammar?: unknown })?.grammar));
    assert.ok(has('sglang', (b) => typeof b['regex'] === 'string'));
    assert.ok(has('sglang', (b) => typeof b['ebnf'] === 'string'));
    assert.ok(has('openai', (b) => !!b['response_format']));
    for (const f of ['vllm', 'sglang', 'openai'])
      assert.ok(
        has(f, (b) => b['logprobs'] === true && typeof b['top_logprobs'] === 'number'),
        f,
      );
    assert.ok(bodies.some((b) => b.path === 'embeddings'));
    assert.ok(bodies.some((b) => b.id.includes('batch line')));
  });

  it('the check finds a field a server does not know (the control body)', function () {
    const control = result.checks.filter((c) => c.id === 'control misspelled field');
    if (!control.length) this.skip();
    for (const c of control) assert.deepEqual(c.unknown, ['guided_choicez'], c.server);
  });

  for (const server of ['vllm', 'sglang'] as const)
    it(`${server}: its request models accept every body of its flavor and of the OpenAI flavor, and know every field`, function () {
      if (result.servers[server]?.skip) {
        console.log(`    SKIP: ${server} cannot be imported here: ${result.servers[server]!.skip}`);
        this.skip();
      }
      const mine = result.checks.filter(
        (c) => c.server === server && (c.id.startsWith(`${server} `) || c.id.startsWith('openai ')),
      );
      assert.ok(mine.length >= 10, `${mine.length} bodies checked`);
      const bad = mine.filter((c) => !c.ok || c.unknown.length);
      assert.deepEqual(
        bad.map(
          (c) =>
            `${c.id}: ${c.ok ? '' : `refused: ${c.error}; `}unknown fields: ${c.unknown.join(', ') || 'none'}`,
        ),
        [],
      );
    });

  for (const server of ['vllm', 'sglang'] as const)
    it(`${server}: the project reads the answer its response model builds (content, top_logprobs, cached tokens)`, async function () {
      const shape = result.responses[server];
      if (!shape) this.skip();
      assert.ok(!('error' in shape!), JSON.stringify(shape));
      const seen: Array<{ path: string; body: Record<string, unknown> }> = [];
      const stub = await recordingStub(shape!, seen);
      try {
        const engine = await ServerEngine.open({ endpoint: stub.url, flavor: server });
        const other = await engine.tokenizeLabel('Other');
        const cause = await engine.tokenizeLabel('Cause');
        const read = await engine.withPrompt({ user: 'x' }, async (s) => ({
          scores: await s.continuation([], [[other[0]!, cause[0]!]]),
          free: await s.generateFree(8),
          reused: s.reusedTokens,
        }));
        assert.deepEqual(read.scores, [[-1.75, -0.25]]);
        assert.equal(read.reused, 64);
        assert.equal(read.free, 'Cause-Effect(e1,e2)');
      } finally {
        await stub.close();
      }
    });
});

describe('serving contract: Ollama’s request types (read from its Go source, recorded with the version)', function () {
  this.timeout(300_000);
  const types = JSON.parse(
    readFileSync(path.join(__dirname, 'ollama-openai-types.json'), 'utf8'),
  ) as Record<string, string[]> & { version: string; ignoredOnPurpose: Record<string, string> };

  it(`every body of the ollama flavor uses only fields of Ollama ${types.version}’s ChatCompletionRequest / EmbedRequest`, async () => {
    ensureBuilt();
    // An OpenAI-shaped answer (Ollama's ChatCompletion has the same fields the reader uses).
    const shape = {
      id: 'c',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: '' },
          logprobs: {
            content: [
              { token: 'Other', logprob: -0.1, top_logprobs: [{ token: 'Other', logprob: -0.1 }] },
            ],
          },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    const bodies = (await collectBodies(shape)).filter((b) => b.flavor === 'ollama');
    assert.ok(bodies.some((b) => b.body['response_format']));
    assert.ok(bodies.some((b) => b.path === 'embeddings'));
    const unknown: string[] = [];
    const within = (id: string, where: string, obj: unknown, allowed: string[]) => {
      if (!obj || typeof obj !== 'object') return;
      for (const k of Object.keys(obj))
        if (!allowed.includes(k) && !types.ignoredOnPurpose[`${where}.${k}`])
          unknown.push(`${id}: ${where}.${k}`);
    };
    for (const b of bodies) {
      if (b.path === 'embeddings') {
        within(b.id, 'EmbedRequest', b.body, types['EmbedRequest']!);
        continue;
      }
      within(b.id, 'ChatCompletionRequest', b.body, types['ChatCompletionRequest']!);
      for (const m of (b.body['messages'] as unknown[]) ?? [])
        within(b.id, 'Message', m, types['Message']!);
      const rf = b.body['response_format'] as { json_schema?: unknown } | undefined;
      within(b.id, 'response_format', rf, types['ResponseFormat']!);
      within(b.id, 'json_schema', rf?.json_schema, types['JsonSchema']!);
    }
    assert.deepEqual(unknown, []);
    // The check can fail: SGLang's regex field is no Ollama field.
    const sglang = { model: 'm', messages: [], regex: 'a|b' };
    within('control', 'ChatCompletionRequest', sglang, types['ChatCompletionRequest']!);
    assert.deepEqual(unknown, ['control: ChatCompletionRequest.regex']);
  });
});
