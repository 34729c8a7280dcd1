/**
 * `npx tsx bench/registry-discover.ts [instances] [queries]`
 *
 * In-process microbenchmark of `registry-memory`'s discover (no gRPC): a real gateway with the
 * built-in registry holds `instances` agents (default 10,000) over 20 services × 6 versions, and
 * routing-style queries (service + semver range + routableOnly, some with tags/capabilities) are
 * timed one by one. Prints p50/p99/max per query shape; the target is p99 well under 1 ms.
 * Not a test: timings depend on the machine, so nothing here asserts them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { definePlugin, startGateway, type AuthService, type DiscoveryQuery, type TransportService } from '../index';
import { LatencyRecorder } from './stats';

const VERSIONS = ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.1.0', '3.0.0-rc.1'];
const ZONES = ['eu', 'us', 'ap'];

const openAuth = definePlugin<Record<string, unknown>, AuthService>({
  name: 'bench-auth',
  kind: 'auth',
  version: '0.0.0',
  schema: { type: 'object' },
  setup: () => ({
    service: {
      authenticate: async () => ({ id: 'bench', method: 'open', claims: {} }),
      authorize: () => ({ allowed: true, reason: 'bench' }),
      serverTls: () => undefined,
      loopbackOnly: () => true,
      onPolicyChange: () => () => undefined,
    },
  }),
});

const noTransport = definePlugin<Record<string, unknown>, TransportService>({
  name: 'bench-transport',
  kind: 'transport',
  version: '0.0.0',
  schema: { type: 'object' },
  setup: () => ({ service: { addresses: () => [], unixSocketPath: () => undefined } }),
});

async function main(): Promise<void> {
  const instances = Number.parseInt(process.argv[2] ?? '10000', 10);
  const queries = Number.parseInt(process.argv[3] ?? '20000', 10);
  const services = 20;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-registry-'));
  const gateway = await startGateway({
    logLevel: 'silent',
    cwd: dataDir,
    config: {
      gateway: { dataDir, processMetrics: false },
      plugins: [{ use: 'registry-memory', options: { maxInstances: Math.max(instances, 1) } }, 'router-embedded', openAuth, noTransport],
    },
  });
  try {
    const registry = gateway.service('registry')!;
    for (let i = 0; i < instances; i++) {
      await registry.register(
        {
          agentId: `agent-${i}`,
          service: `svc-${i % services}`,
          version: VERSIONS[(i >> 2) % VERSIONS.length],
          tags: { zone: ZONES[i % ZONES.length], shard: String(i % 16) },
          capabilities: i % 2 === 0 ? ['summarize', 'gpu'] : ['summarize'],
          leaseTtlMs: 0,
        },
        {},
      );
    }
    for (let i = 0; i < instances; i += 11) registry.setHealth(`agent-${i}`, 'degraded', 'bench');

    const shapes: Array<[string, (n: number) => DiscoveryQuery]> = [
      ['service only', (n) => ({ service: `svc-${n % services}` })],
      ['service + range + routable', (n) => ({ service: `svc-${n % services}`, versionRange: '^1.1.0', routableOnly: true })],
      [
        'service + range + tags + caps',
        (n) => ({
          service: `svc-${n % services}`,
          versionRange: '>=1 <3',
          tags: { zone: 'eu' },
          capabilities: ['gpu'],
          routableOnly: true,
        }),
      ],
      ['routing pick (limit 1)', (n) => ({ service: `svc-${n % services}`, versionRange: '^2', routableOnly: true, limit: 1 })],
    ];
    console.log(`registry-memory discover: ${instances} instances, ${services} services, ${queries} queries per shape`);
    for (const [label, build] of shapes) {
      const prepared = Array.from({ length: 256 }, (_, n) => build(n));
      for (let n = 0; n < 2_000; n++) registry.discover(prepared[n & 255]); // warm-up (JIT, range cache)
      const recorder = new LatencyRecorder(queries);
      let found = 0;
      for (let n = 0; n < queries; n++) {
        const started = process.hrtime.bigint();
        found += registry.discover(prepared[n & 255]).length;
        recorder.record(Number(process.hrtime.bigint() - started) / 1e6);
      }
      const { p50Ms, p99Ms, maxMs } = recorder.summary();
      console.log(
        `  ${label.padEnd(32)} p50 ${p50Ms.toFixed(4)} ms  p99 ${p99Ms.toFixed(4)} ms  max ${maxMs.toFixed(3)} ms  (avg ${(found / queries).toFixed(0)} results)`,
      );
    }
  } finally {
    await gateway.stop('bench over');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
