/**
 * Process limits that hold when the gateway runs as root (this suite does): a sandboxed agent that
 * forks 1,000 children gets at most `limits.processes` of them (a per-sandbox pids cgroup; RLIMIT_NPROC
 * alone is not enforced for uid 0), cannot create a user namespace of its own, and meanwhile the
 * gateway and another sandboxed agent keep serving over real gRPC. A root gateway with no pids
 * cgroup refuses such a profile instead of running it unlimited. sandbox-process gets the same
 * cgroup. A gateway process running as an unprivileged user (no cgroup for it) keeps each managed
 * agent to its own budget: RLIMIT_NPROC counted per sandbox user namespace, not per host user.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayServiceClient, HealthStatus_Status } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { pidsCgroupSupport, type SandboxedProcess, type SandboxService } from '../../kernel';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process';
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
          client.healthCheck({ agentId: '', probeId: '' }, new Metadata(), { deadline: Date.now() + 10_000 }, (error, reply) =>
            error ? reject(error) : resolve(reply),
          ),
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

describe('a fork bomb in sandbox-process under a root gateway', () => {
  it('gets at most limits.processes (a pids cgroup)', async () => {
    const gw = await startTestGateway({ extraPlugins: ['sandbox-process'] });
    const marker = `fork-bomb-plain-${process.pid}-${Date.now()}`;
    try {
      const bomb = await gw.gateway.service('sandbox')!.spawn({
        agentId: 'plain-bomb',
        command: '/usr/bin/python3',
        args: [path.join(fixtures, 'fork-bomb.py'), marker, '1000'],
        env: {},
        profile: profile(LIMIT, true),
      });
      try {
        const report = JSON.parse(await firstLine(bomb)) as { started: number; refused: number };
        expect(report.started).toBeLessThan(LIMIT);
        expect(report.refused).toBeGreaterThan(1000 - LIMIT);
        expect(processesWith(marker).length).toBeLessThanOrEqual(LIMIT);
      } finally {
        bomb.kill();
        await bomb.exited;
      }
      await waitUntil(() => processesWith(marker).length === 0, 'every process of the bomb is gone');
    } finally {
      await gw.stop();
    }
  }, 60_000);
});

describe('managed fork bomb under a non-root gateway process (uid 65534, no cgroup)', () => {
  let gw: GatewayProcess | undefined;
  afterAll(() => gw?.stop());

  it('limits each sandbox to its own limits.processes (RLIMIT_NPROC per user namespace), and the neighbour still starts', async () => {
    const marker = `fork-bomb-managed-${process.pid}-${Date.now()}`;
    const shared = mkdtempSync(path.join(os.tmpdir(), 'ocgw-bomb-'));
    chownSync(shared, 65534, 65534);
    // `checkout`: where the uid 65534 gateway sees this checkout (checkout-seen-by).
    const agent = (checkout: string, id: string, args: string[], readWritePaths: string[] = []) => {
      const seenFixtures = path.join(checkout, path.relative(root, fixtures));
      return {
        id,
        command: '/usr/bin/python3',
        args: [path.join(seenFixtures, 'fork-bomb.py'), ...args],
        restart: { policy: 'never' },
        health: { readinessTimeoutMs: 120_000 },
        sandbox: { readOnlyPaths: [seenFixtures], readWritePaths, network: false, limits: { processes: LIMIT } },
      };
    };
    try {
      gw = await startGatewayProcess({
        user: { uid: 65534, gid: 65534 },
        plugins: (checkout) => [
          'registry-memory',
          'router-embedded',
          'auth-standard',
          'sandbox-bubblewrap',
          {
            use: 'supervisor',
            options: {
              agents: [
                agent(checkout, 'bomb', [`${marker}-b`, '1000']),
                agent(checkout, 'neighbour', [`${marker}-n`, '20', path.join(shared, 'go')], [shared]),
              ],
            },
          },
        ],
      });
      const reportOf = async (agentId: string) => {
        let found: Record<string, number> | undefined;
        await waitUntil(() => (found = agentReport(gw!.output(), agentId)) !== undefined, `${agentId} reports`, 60_000);
        return found!;
      };
      const bomb = await reportOf('bomb');
      expect(bomb.nestedUserns).not.toBe(0);
      expect(bomb.started).toBeLessThan(LIMIT);
      expect(bomb.refused).toBeGreaterThan(1000 - LIMIT);
      // On the host: the agent's python processes (bwrap's own two are not the agent's; the one
      // outside the sandbox's user namespace is not counted there either).
      const agentProcesses = processesWith(`${marker}-b`).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'bwrap');
      expect(agentProcesses.length).toBeLessThanOrEqual(LIMIT);
      expect(agentProcesses.length).toBe(bomb.started + 1);

      // The bomb holds its whole budget; the neighbour (same host uid) gets a budget of its own.
      writeFileSync(path.join(shared, 'go'), '');
      const neighbour = await reportOf('neighbour');
      expect(neighbour).toMatchObject({ started: 20, refused: 0 });

      const client = new GatewayServiceClient(gw.grpcAddress, credentials.createInsecure());
      try {
        const health = await new Promise((resolve, reject) =>
          client.healthCheck({ agentId: '', probeId: '' }, new Metadata(), { deadline: Date.now() + 10_000 }, (error, reply) =>
            error ? reject(error) : resolve(reply),
          ),
        );
        expect(health).toMatchObject({ status: HealthStatus_Status.STATUS_SERVING });
      } finally {
        client.close();
      }
    } finally {
      await gw?.stop();
      gw = undefined;
      rmSync(shared, { recursive: true, force: true });
    }
    await waitUntil(() => processesWith(marker).length === 0, 'every process of both agents is gone');
  }, 120_000);
});

/** The JSON line an agent printed, as the supervisor logged it (gateway stdout, JSON logs). */
function agentReport(output: string, agentPrefix: string): Record<string, number> | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { agentId?: string; stream?: string; msg?: string };
      if (entry.stream === 'stdout' && entry.agentId?.startsWith(agentPrefix) && entry.msg?.startsWith('{'))
        return JSON.parse(entry.msg) as Record<string, number>;
    } catch {
      // not a log line of ours
    }
  }
  return undefined;
}

describe('pids cgroups left behind', () => {
  it('removes the empty groups of a gateway that died, and only those', async () => {
    const support = pidsCgroupSupport();
    if (!support.usable) throw new Error(`this test needs a pids cgroup: ${support.reason}`);
    // A pid that is surely dead: a child that ran and was reaped.
    const dead = spawnSync('/bin/true').pid;
    const stale = path.join(support.parent, `openclaw-sandbox.${dead}.1`);
    const live = path.join(support.parent, `openclaw-sandbox.${process.pid}.999999`);
    mkdirSync(stale);
    mkdirSync(live);
    try {
      const gw = await startTestGateway({ extraPlugins: ['sandbox-bubblewrap'] });
      await gw.stop();
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      for (const dir of [stale, live]) if (existsSync(dir)) rmdirSync(dir);
    }
  }, 30_000);
});

describe('sandbox-process with limits.processes', () => {
  it('kills what the agent left in its pids cgroup when it exits, even a process that left its process group', async () => {
    const gw = await startTestGateway({ extraPlugins: ['sandbox-process'] });
    const marker = `escaped-${process.pid}-${Date.now()}`;
    try {
      const agent = await gw.gateway.service('sandbox')!.spawn({
        agentId: 'escaper',
        command: '/bin/sh',
        // setsid: a session and process group of its own, out of reach of the group kill.
        args: ['-c', `setsid sh -c 'sleep 300; : ${marker}' & sleep 0.2; exit 0`],
        env: {},
        profile: profile(LIMIT, true),
      });
      await waitUntil(() => processesWith(marker).length > 0, 'the escaped process runs');
      await agent.exited;
      await waitUntil(() => processesWith(marker).length === 0, 'the escaped process is killed with its sandbox');
    } finally {
      await gw.stop();
    }
  }, 30_000);
});
