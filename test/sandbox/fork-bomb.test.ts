/**
 * Process limits that hold when the gateway runs as root (this suite does): a sandboxed agent that
 * forks 1,000 children gets at most `limits.processes` of them (a per-sandbox pids cgroup; RLIMIT_NPROC
 * alone is not enforced for uid 0), cannot create a user namespace of its own, and meanwhile the
 * gateway and another sandboxed agent keep serving over real gRPC. A root gateway with no pids
 * cgroup refuses such a profile instead of running it unlimited.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { GatewayServiceClient, HealthStatus_Status } from '../../proto/gen/openclaw/gateway/v1/gateway';
import type { SandboxedProcess, SandboxService } from '../../kernel';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { outputOf } from './plugin-context';

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/sandbox');
const LIMIT = 64;

/** Host pids whose command line contains `text`. */
function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function firstLine(sandboxed: SandboxedProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    let errors = '';
    sandboxed.child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    sandboxed.child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    void sandboxed.exited.then((exit) => reject(new Error(`agent exited (${JSON.stringify(exit)}) before reporting: ${errors}`)));
  });
}

const profile = (processes: number, network = false) => ({
  readOnlyPaths: [fixtures, path.join(root, 'node_modules'), path.join(root, 'proto')],
  readWritePaths: [],
  network,
  envAllowList: [],
  limits: { processes, memoryBytes: 1024 * 1024 * 1024 },
});

describe('a fork bomb in sandbox-bubblewrap under a root gateway', () => {
  let gw: TestGateway;
  let sandbox: SandboxService;

  beforeAll(async () => {
    expect(process.geteuid!()).toBe(0); // the point of this test: limits must hold as root
    gw = await startTestGateway({ extraPlugins: ['sandbox-bubblewrap'] });
    sandbox = gw.gateway.service('sandbox')!;
  }, 30_000);
  afterAll(() => gw?.stop());

  it('gets at most limits.processes, no user namespace, and the gateway and other agents keep serving', async () => {
    const marker = `fork-bomb-${process.pid}-${Date.now()}`;
    const bomb = await sandbox.spawn({
      agentId: 'fork-bomb',
      command: '/usr/bin/python3',
      args: [path.join(fixtures, 'fork-bomb.py'), marker, '1000'],
      env: {},
      profile: profile(LIMIT),
      gatewaySocket: gw.socketPath,
    });
    try {
      const report = JSON.parse(await firstLine(bomb)) as { nestedUserns: number; nestedError: string; started: number; refused: number };
      process.stdout.write(`fork bomb: ${JSON.stringify(report)}, on the host: ${processesWith(marker).length}\n`);
      expect(report.nestedUserns).not.toBe(0);
      expect(report.started + report.refused).toBe(1000);
      expect(report.started).toBeLessThan(LIMIT);
      expect(report.refused).toBeGreaterThan(1000 - LIMIT);
      // Seen from the host: the agent and its children, never more than the limit.
      expect(processesWith(marker).length).toBeLessThanOrEqual(LIMIT);
      expect(processesWith(marker).length).toBeGreaterThan(1);

      // The gateway answers over TCP, and another sandbox (with its own count) registers over the socket.
      const client = new GatewayServiceClient(gw.address, credentials.createInsecure());
      try {
        const health = await new Promise((resolve, reject) =>
          client.healthCheck({ agentId: '', probeId: '' }, new Metadata(), { deadline: Date.now() + 10_000 }, (error, reply) => (error ? reject(error) : resolve(reply))),
        );
        expect(health).toMatchObject({ status: HealthStatus_Status.STATUS_SERVING });
      } finally {
        client.close();
      }
      const other = await outputOf(
        await sandbox.spawn({
          agentId: 'neighbour',
          command: process.execPath,
          args: [path.join(fixtures, 'grpc-agent.js')],
          env: { PROTO_ROOT: path.join(root, 'proto'), OPENCLAW_AGENT_ID: 'neighbour' },
          profile: profile(LIMIT),
          gatewaySocket: gw.socketPath,
        }),
      );
      expect(other.code).toBe(0);
      expect(JSON.parse(other.stdout)).toMatchObject({ registered: 'neighbour', health: 'STATUS_SERVING' });
    } finally {
      bomb.kill();
      await bomb.exited;
    }
    await waitUntil(() => processesWith(marker).length === 0, 'every process of the bomb is gone');
  }, 60_000);
});

describe('a root gateway without a pids cgroup', () => {
  it('refuses an agent with limits.processes instead of running it unlimited', async () => {
    const gw = await startTestGateway({ extraPlugins: [{ use: 'sandbox-bubblewrap', options: { pidsCgroup: 'off' } }] });
    try {
      const spawned = gw.gateway.service('sandbox')!.spawn({
        agentId: 'unlimited',
        command: '/bin/true',
        args: [],
        env: {},
        profile: profile(LIMIT, true),
      });
      await expect(spawned).rejects.toMatchObject({ code: 'GW_FAILED_PRECONDITION', field: 'sandbox.limits.processes' });
      await expect(spawned).rejects.toThrow(/runs as root, where RLIMIT_NPROC does not apply/);
    } finally {
      await gw.stop();
    }
  }, 30_000);
});
