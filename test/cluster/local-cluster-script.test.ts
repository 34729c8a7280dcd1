/**
 * examples/cluster/start-local-cluster.sh, as a newcomer runs it: start brings up three nats-servers
 * and three gateways (examples/configs/cluster.config.ts), each gateway answers
 * `openclaw-gateway status --target`, an agent on one gateway reaches an agent on another, and
 * stop leaves no process and no state behind.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type Agent } from '../../sdk';
import { collect, runCli } from '../helpers/cli';
import { eventually } from './helpers';

const SCRIPT = path.resolve(__dirname, '../../examples/cluster/start-local-cluster.sh');
// Private ports of this test file: NATS 24810-24812, routes 24820-24822, gRPC 24830-24832, metrics 24840-24842.
const BASE_PORT = 24810;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('examples/cluster/start-local-cluster.sh', () => {
  let root: string;
  let state: string;
  const env = () => ({ ...process.env, OPENCLAW_CLUSTER_DIR: state, OPENCLAW_CLUSTER_BASE_PORT: String(BASE_PORT) });
  const pids: number[] = [];
  const agents: Agent[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'ocgw-localcluster-'));
    state = path.join(root, 'state');
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close({ deregister: false }).catch(() => undefined)));
    if (existsSync(state)) await collect(spawn('bash', [SCRIPT, 'stop'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] }));
    // Whatever the script failed to stop (a failing test), by the PIDs it started.
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(root, { recursive: true, force: true });
  }, 120_000);

  it('starts three NATS and three gateways that answer status, and stop removes everything', async () => {
    const started = await collect(spawn('bash', [SCRIPT, 'start'], { env: env(), cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    if (existsSync(state)) {
      for (const file of await readdir(state)) if (file.endsWith('.pid')) pids.push(Number(await readFile(path.join(state, file), 'utf8')));
    }
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(pids).toHaveLength(6);

    const targets = [0, 1, 2].map((i) => `127.0.0.1:${BASE_PORT + 20 + i}`);
    for (const [i, target] of targets.entries()) {
      const status = await runCli(['status', '--target', target, '--json']);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout).gatewayId).toBe(`gw-${'abc'[i]}`);
    }

    // The three form one cluster: an agent on c is discovered and reached from a.
    const worker = connect([targets[2]]);
    agents.push(worker);
    await worker.register({ agentId: 'script-worker', service: 'script-echo', version: '1.0.0' });
    const inbox = await worker.subscribe();
    const sender = connect([targets[0]]);
    agents.push(sender);
    await eventually(async () => (await sender.discover({ service: 'script-echo' })).length === 1, 30_000, 'worker visible from a');
    await sender.send({ agentId: 'script-worker', payload: 'across', durable: true });
    const delivery = await inbox.next();
    expect(delivery.done).toBe(false);
    expect(delivery.value!.text()).toBe('across');
    await delivery.value!.ack();
    await Promise.all(agents.splice(0).map((agent) => agent.close()));

    const stopped = await collect(spawn('bash', [SCRIPT, 'stop'], { env: env(), cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(stopped.code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(state)).toBe(false);
    for (const target of targets) expect((await runCli(['status', '--target', target, '--timeout', '2000'])).code).not.toBe(0);
  }, 300_000);
});
