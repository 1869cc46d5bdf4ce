/**
 * The serving-engine options of extract and extract-doc (--engine openai …), declared once, and
 * the engine they open.
 */
import { Command, Option } from 'commander';
import { InputError } from '../core/diagnostics';
import {
  EndpointKey,
  SERVER_FLAVORS,
  ServerEngine,
  ServerFlavor,
  apiKeyFrom,
} from '../engine/server';
import type { EmbeddingsAccess, EmbeddingsServer } from '../node/ragIndex';

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new InputError(
      `--server-timeout must be a number of seconds > 0, got ${JSON.stringify(v)}`,
    );
  return n;
}

export interface ServerCliOptions {
  engine: 'local' | 'openai';
  endpoint?: string;
  servedModel?: string;
  apiKeyEnv?: string;
  serverFlavor?: ServerFlavor;
  serverTimeout: number;
}

export function addServerOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--engine <kind>',
        'local: the GGUF model in-process (node-llama-cpp); openai: an OpenAI-compatible server (llama-server, vLLM, Ollama, SGLang)',
      )
        .choices(['local', 'openai'])
        .default('local'),
    )
    .option(
      '--endpoint <url>',
      'with --engine openai: the server base URL, e.g. http://127.0.0.1:8080/v1',
    )
    .option(
      '--served-model <name>',
      'with --engine openai: the model the server serves (default: the first it lists)',
    )
    .option(
      '--api-key-env <VAR>',
      'with --engine openai: the environment variable that holds the API key (default: RELATION_LENS_API_KEY when set); never pass a key on the command line',
    )
    .addOption(
      new Option(
        '--server-flavor <flavor>',
        'with --engine openai: which constraint and scoring fields to send (detected when omitted)',
      ).choices([...SERVER_FLAVORS]),
    )
    .option('--server-timeout <seconds>', 'with --engine openai: limit per request', seconds, 120);
}

/** Whether the user gave an option (not its default). */
export function given(cmd: Command, name: string): boolean {
  const src = cmd.getOptionValueSource(name);
  return src !== undefined && src !== 'default';
}

/**
 * Checks the server options against the others before anything loads: local-only options are
 * refused with --engine openai, server options without it.
 */
export function checkServerOptions(
  cmd: Command,
  opts: ServerCliOptions & { lora?: string[]; model?: string },
): void {
  if (opts.engine !== 'openai') {
    for (const o of ['endpoint', 'servedModel', 'apiKeyEnv', 'serverFlavor', 'serverTimeout'])
      if (given(cmd, o))
        throw new InputError(
          `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --engine openai`,
        );
    return;
  }
  if (!opts.endpoint)
    throw new InputError('--engine openai needs --endpoint URL (e.g. http://127.0.0.1:8080/v1)');
  if (opts.lora?.length)
    throw new InputError(
      '--lora applies to the in-process engine; with --engine openai, load the adapter into the server (e.g. llama-server --lora FILE)',
    );
  if (opts.model)
    throw new InputError(
      '--model names a local GGUF; with --engine openai, name the served model with --served-model',
    );
}

export async function openServerEngine(
  cmd: Command,
  opts: ServerCliOptions & { parallel?: number; contextSize?: number; deterministic?: boolean },
  signal: AbortSignal,
): Promise<ServerEngine> {
  return ServerEngine.open({
    endpoint: opts.endpoint!,
    model: opts.servedModel,
    apiKey: apiKeyFrom(opts.apiKeyEnv),
    flavor: opts.serverFlavor,
    parallel: opts.deterministic ? 1 : given(cmd, 'parallel') ? opts.parallel : undefined,
    contextSize: given(cmd, 'contextSize') ? opts.contextSize : undefined,
    timeoutMs: opts.serverTimeout * 1000,
    signal,
  });
}

/** The options that say where an index's queries may be embedded (commands with --rag). */
export interface EmbeddingsCliOptions {
  embeddingsEndpoint?: string;
  embeddingsApiKeyEnv?: string;
}

export function addEmbeddingsOptions(cmd: Command): Command {
  return cmd
    .option(
      '--embeddings-endpoint <url>',
      "with --rag of an index embedded by a server: the server that embeds the queries (the same model); needed when it is not --endpoint's — an index folder never decides where record texts go",
    )
    .option(
      '--embeddings-api-key-env <VAR>',
      "with --embeddings-endpoint: the environment variable that holds that server's API key (the --endpoint key is sent only to --endpoint)",
    );
}

/**
 * The embeddings access of a CLI run: the servers named on the command line (--endpoint,
 * --embeddings-endpoint), each with its own key; a manifest naming any other is refused.
 */
export function embeddingsAccess(
  opts: EmbeddingsCliOptions & Partial<ServerCliOptions>,
): EmbeddingsAccess {
  if (opts.embeddingsApiKeyEnv && !opts.embeddingsEndpoint)
    throw new InputError('--embeddings-api-key-env needs --embeddings-endpoint');
  const named: string[] = [];
  const keys: EndpointKey[] = [];
  if (opts.engine === 'openai' && opts.endpoint) {
    named.push(opts.endpoint);
    keys.push({ endpoint: opts.endpoint, apiKey: apiKeyFrom(opts.apiKeyEnv) });
  }
  if (opts.embeddingsEndpoint && opts.embeddingsApiKeyEnv)
    keys.unshift({
      endpoint: opts.embeddingsEndpoint,
      apiKey: apiKeyFrom(opts.embeddingsApiKeyEnv),
    });
  return {
    named,
    ...(opts.embeddingsEndpoint ? { override: opts.embeddingsEndpoint } : {}),
    keys,
    hint: 'If you trust that server, pass --embeddings-endpoint with its URL (or another server with the same model).',
  };
}

/** The line that says where the queries are embedded. */
export function embeddingsLine(server: EmbeddingsServer | undefined): string {
  return server
    ? `; query embeddings from ${server.endpoint}${server.model ? ` (model ${server.model})` : ''}, ${server.key ? 'with' : 'without'} an API key`
    : '';
}
