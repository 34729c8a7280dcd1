import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createHooks, createMetricsFactory, type PluginContext, type PluginDefinition } from '../../kernel';

/** The options a schema's defaults make (what the kernel fills in for an empty options object). */
export function schemaDefaults<O>(schema: { properties: Record<string, unknown> }, overrides: Partial<O> = {}): O {
  const options: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties)) options[key] = structuredClone((prop as { default: unknown }).default);
  return { ...options, ...overrides } as O;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * Sets a sandbox plugin up the way the kernel does (real hooks, metrics, logger), for standalone
 * tests. Log lines are kept in `logs` (pino's JSON, parsed).
 */
export async function setUpPlugin<O, S>(plugin: PluginDefinition<O, S>, options: O) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'oc-sandbox-'));
  const abort = new AbortController();
  const logs: LogLine[] = [];
  const ctx: PluginContext<O> = {
    name: plugin.name,
    options,
    logger: pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) }),
    hooks: createHooks(),
    services: {
      get: () => {
        throw new Error('no services in sandbox tests');
      },
      find: () => undefined,
      transports: () => [],
    },
    metrics: createMetricsFactory({ processMetrics: false }),
    gateway: {
      id: 'gw-test',
      version: '0.0.0',
      dataDir,
      configDir: dataDir,
      isDraining: () => false,
      stage: () => 'ready',
      plugins: () => [],
      startedAt: Date.now(),
    },
    signal: abort.signal,
  };
  const instance = await plugin.setup(ctx);
  await instance.start?.();
  return {
    service: instance.service as S,
    dataDir,
    ctx,
    logs,
    stop: async () => {
      abort.abort();
      await instance.stop?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collects a child's stdout and waits for its exit. */
export async function outputOf(sandboxed: {
  child: import('node:child_process').ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}) {
  let stdout = '';
  let stderr = '';
  sandboxed.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  sandboxed.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = await sandboxed.exited;
  return { stdout, stderr, ...exit };
}
