/**
 * Starts a real gateway with the real `auth-standard` plugin. The service-level tests do not route
 * or register anything, so the other required kinds are filled by minimal inline plugins (the
 * end-to-end tests use the real registry, router and gRPC transport instead).
 */
import { tempDir as selfRemovingTempDir } from '../helpers/temp-dir';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { startGateway, type AuthService, type Gateway, type PluginDefinition, type PluginKind } from '../../index';

function standIn(kind: PluginKind, service: unknown): PluginDefinition {
  return { name: `stand-in-${kind}`, kind, version: '0.0.0', schema: { type: 'object' }, setup: () => ({ service }) };
}

/** Removed after the test file. */
export function tempDir(prefix = 'auth-'): string {
  return selfRemovingTempDir(prefix);
}

export async function startAuthOnly(
  options: Record<string, unknown>,
  dir: string,
  extra: { logger?: Logger } = {},
): Promise<{ gateway: Gateway; auth: AuthService }> {
  const gateway = await startGateway({
    ...(extra.logger ? { logger: extra.logger } : { logLevel: 'silent' }),
    cwd: dir,
    config: {
      gateway: { dataDir: path.join(dir, 'data'), processMetrics: false },
      plugins: [
        standIn('registry', {}),
        standIn('router', {}),
        standIn('transport', { addresses: () => [], unixSocketPath: () => undefined }),
        { use: 'auth-standard', options },
      ],
    },
  });
  return { gateway, auth: gateway.service('auth')! };
}

/** Polls until `check` passes or `timeoutMs` passes (then throws its last error). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** The rejection of a promise (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a rejection, got a result');
}

/** A real pino logger whose JSON lines are collected for assertions. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}
