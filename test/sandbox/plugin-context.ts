import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createHooks, createMetricsFactory, type PluginContext, type PluginDefinition } from '../../kernel';

/** Sets a sandbox plugin up the way the kernel does (real hooks, metrics, logger), for standalone tests. */
export async function setUpPlugin<O, S>(plugin: PluginDefinition<O, S>, options: O) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'oc-sandbox-'));
  const abort = new AbortController();
  const ctx: PluginContext<O> = {
    name: plugin.name,
    options,
    logger: pino({ level: 'silent' }),
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
  return { service: instance.service as S, dataDir, ctx, stop: async () => { abort.abort(); await instance.stop?.(); } };
}

/** Collects a child's stdout and waits for its exit. */
export async function outputOf(sandboxed: { child: import('node:child_process').ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }) {
  let stdout = '';
  let stderr = '';
  sandboxed.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  sandboxed.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = await sandboxed.exited;
  return { stdout, stderr, ...exit };
}
