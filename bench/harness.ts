/**
 * What every scenario needs: start the server under test (gateway or raw baseline) and load
 * generators as child processes, sample the server's CPU and memory, and clean everything up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchChild } from './ipc';
import type { LoadConfig } from './load/load-process';
import type { GatewayProcessConfig } from './gateway-process';
import type { ServerReady, ServerStats } from './server-ipc';
import type { BenchSettings } from './settings';
import { frame, GrpcH2Connection } from './load/h2-grpc';
import { encodeAgentInfo, encodeBatch } from './wire';

export type Implementation = 'gateway' | 'baseline';

export interface ServerUnderTest {
  readonly implementation: Implementation;
  readonly child: BenchChild<ServerReady>;
  readonly address: string;
  readonly ready: ServerReady;
  stats(gc?: boolean): Promise<ServerStats>;
}

/** Children and temp folders of one scenario, all released by `cleanup` whatever happened. */
export class ScenarioScope {
  private readonly children: BenchChild<any>[] = [];
  private readonly folders: string[] = [];

  constructor(readonly settings: BenchSettings) {}

  tempDir(prefix: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), `openclaw-bench-${prefix}-`));
    this.folders.push(dir);
    return dir;
  }

  async startServer(
    implementation: Implementation,
    options: Partial<GatewayProcessConfig> & { fileLimit?: number } = {},
  ): Promise<ServerUnderTest> {
    const { fileLimit, ...gatewayOptions } = options;
    const nodeFlags = ['--expose-gc'];
    // The raw server's profile goes beside the gateway's (profiles/baseline/), so the two can be
    // compared function by function: the gap between them is what the gateway adds.
    if (this.settings.profileDir) {
      const dir = implementation === 'gateway' ? this.settings.profileDir : path.join(this.settings.profileDir, 'baseline');
      nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
    }
    const config =
      implementation === 'gateway'
        ? deepMerge({ dataDir: gatewayOptions.dataDir ?? this.tempDir('data'), ...gatewayOptions }, this.settings.gatewayOverrides ?? {})
        : { host: '127.0.0.1' };
    const child = new BenchChild<ServerReady>(implementation === 'gateway' ? 'gateway-process.ts' : 'baseline-process.ts', config, {
      nodeFlags,
      fileLimit,
      label: implementation,
    });
    this.children.push(child);
    const ready = await child.ready;
    return {
      implementation,
      child,
      address: ready.address,
      ready,
      stats: (gc = false) => child.call<ServerStats>('stats', { gc }),
    };
  }

  /** Any other bench child (e.g. a2a-process.ts), stopped by cleanup() like the servers. */
  async startChild<Ready>(entry: string, config: unknown, label: string): Promise<{ child: BenchChild<Ready>; ready: Ready }> {
    const nodeFlags = ['--expose-gc'];
    if (label.startsWith('gateway') && this.settings.profileDir) nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${this.settings.profileDir}`);
    const child = new BenchChild<Ready>(entry, config, { nodeFlags, label });
    this.children.push(child);
    return { child, ready: await child.ready };
  }

  async startLoad(config: LoadConfig, options: { fileLimit?: number; label?: string } = {}): Promise<BenchChild> {
    const child = new BenchChild('load/load-process.ts', config, {
      fileLimit: options.fileLimit,
      label: options.label ?? `load:${config.role}`,
    });
    this.children.push(child);
    await child.ready;
    return child;
  }

  /** Stops load generators first (so the servers see clients leave), then servers, then removes temp data. */
  async cleanup(): Promise<void> {
    const loads = this.children.filter((c) => c.label.startsWith('load'));
    const servers = this.children.filter((c) => !c.label.startsWith('load'));
    await Promise.all(loads.map((c) => c.close(5_000)));
    await Promise.all(servers.map((c) => c.close(10_000)));
    this.children.length = 0;
    for (const dir of this.folders) rmSync(dir, { recursive: true, force: true });
    this.folders.length = 0;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge<T extends Record<string, unknown>>(base: T, overrides: Record<string, unknown>): T {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    merged[key] = isPlainObject(value) && isPlainObject(merged[key]) ? deepMerge(merged[key], value) : value;
  }
  return merged as T;
}

/** One RegisterAgent call from the harness itself (setup, not measured). */
export async function registerAgent(address: string, agentId: string, service: string): Promise<void> {
  await oneCall(address, 'RegisterAgent', encodeAgentInfo({ agentId, service, version: '1.0.0', leaseTtlMs: 300_000 }));
}

/** Publishes one message to `topic` with PublishBatch from the harness (probes, not load). */
export async function publishOnce(address: string, topic: string): Promise<void> {
  await oneCall(address, 'PublishBatch', encodeBatch(1, { topic }));
}

async function oneCall(address: string, method: string, request: Uint8Array): Promise<void> {
  const connection = new GrpcH2Connection(address);
  try {
    await connection.connected;
    await connection.unaryAsync(method, frame(request));
  } finally {
    connection.close();
  }
}

/** Server CPU and wall time across a measurement window. */
export interface Window {
  elapsedMs: number;
  cpuMicros: number;
}

export function windowBetween(before: ServerStats, after: ServerStats): Window {
  return { elapsedMs: after.atMs - before.atMs, cpuMicros: after.cpuMicros - before.cpuMicros };
}
