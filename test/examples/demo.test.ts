/**
 * The demo end to end, the way `npm start` runs it: the real CLI with the embedded default config
 * (on free ports and a temp data dir) brings up the gateway and, under the supervisor, the demo's
 * planner, two workers of service `demo-worker` and a logger. Checked through the monitor's HTTP
 * API (what the dashboard shows) and with the SDK (tasks reach both workers).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect, type Agent } from '../../sdk';
import { collect, runCli, spawnCli, waitForOutput } from '../helpers/cli';
import { eventually, nextItem } from './package-project';

interface AgentRow {
  agentId: string;
  service: string;
  state: string;
  health: string;
  managed: boolean;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

describe('the demo started by the CLI with the embedded defaults', () => {
  let home: string;
  let gateway: ChildProcess;
  let exited: ReturnType<typeof collect>;
  let grpcPort: number;
  let monitor: string;
  let a2aUrl: string;
  const agents: Agent[] = [];

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'ocgw-demo-'));
    grpcPort = await freePort();
    const monitorPort = await freePort();
    monitor = `http://127.0.0.1:${monitorPort}`;
    const a2aPort = await freePort();
    a2aUrl = `http://127.0.0.1:${a2aPort}`;
    gateway = spawnCli(['start', '--defaults'], {
      cwd: home,
      env: {
        OPENCLAW_GRPC_PORT: String(grpcPort),
        OPENCLAW_MONITOR_PORT: String(monitorPort),
        OPENCLAW_A2A_PORT: String(a2aPort),
        OPENCLAW_DATA_DIR: path.join(home, 'data'),
        OPENCLAW_DEMO: '1',
      },
    });
    exited = collect(gateway);
    await waitForOutput(gateway, /gateway ready/, 60_000);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
    if (gateway && gateway.exitCode === null) gateway.kill('SIGKILL');
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('the embedded defaults include the demo, and OPENCLAW_DEMO=0 leaves it out', async () => {
    const withDemo = await runCli(['plugins', '--defaults'], { cwd: home, env: { OPENCLAW_DATA_DIR: path.join(home, 'data') } });
    expect(withDemo.stdout).toMatch(/supervisor\s+supervisor/);
    expect(withDemo.stdout).toMatch(/sandbox-(bubblewrap|process)\s+sandbox/);
    const without = await runCli(['plugins', '--defaults'], {
      cwd: home,
      env: { OPENCLAW_DEMO: '0', OPENCLAW_DATA_DIR: path.join(home, 'data') },
    });
    expect(without.code).toBe(0);
    expect(without.stdout).not.toContain('supervisor');
    expect(without.stdout).toContain('transport-grpc');
  }, 60_000);

  test('the four demo agents run as managed agents, as the dashboard shows them', async () => {
    const running = await eventually(
      async () => {
        const { agents: rows } = await getJson<{ agents: AgentRow[] }>(`${monitor}/api/agents`);
        const demo = rows.filter((row) => row.service.startsWith('demo-') && row.state === 'running');
        return demo.length >= 4 ? demo : undefined;
      },
      60_000,
      'four running demo agents on /api/agents',
    );
    const byService = (service: string) => running.filter((row) => row.service === service);
    expect(byService('demo-worker')).toHaveLength(2);
    expect(byService('demo-planner')).toHaveLength(1);
    expect(byService('demo-logger')).toHaveLength(1);
    expect(running.every((row) => row.managed)).toBe(true);
    const page = await fetch(`${monitor}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
  }, 90_000);

  test('the demo agents are A2A-reachable out of the box: a worker answers the official A2A client', async () => {
    const { ClientFactory } = await import('@a2a-js/sdk/client');
    const { Role, TaskState } = await import('@a2a-js/sdk');
    const services = await eventually(
      async () => {
        const { services: cards } = await getJson<{ services: Array<{ name: string }> }>(`${a2aUrl}/services`);
        return cards.some((card) => card.name === 'demo-worker') ? cards : undefined;
      },
      60_000,
      'demo-worker in the A2A catalogue',
    );
    expect(services.map((card) => card.name)).toEqual(expect.arrayContaining(['demo-worker', 'demo-planner', 'demo-logger']));
    const client = await new ClientFactory().createFromUrl(`${a2aUrl}/services/demo-worker/`);
    const result = await client.sendMessage({
      tenant: '',
      message: {
        messageId: 'demo-a2a-1',
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'text', value: 'from a2a' }, mediaType: 'text/plain', filename: '', metadata: undefined }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: undefined,
    });
    if ('messageId' in result) throw new Error('expected a task');
    expect(result.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const part = result.status?.message?.parts[0]?.content;
    expect(part?.$case).toBe('data');
    expect(part?.$case === 'data' && part.value).toMatchObject({ task: 'from a2a', worker: expect.stringMatching(/^demo-worker/) });
  }, 90_000);

  test('the planner’s tasks are balanced over both workers', async () => {
    const observer = connect(`127.0.0.1:${grpcPort}`);
    agents.push(observer);
    const results = await observer.subscribe('demo.results.>');
    const workers = new Set<string>();
    await eventually(
      async () => {
        const delivery = await nextItem(results, 10_000, 'a demo result');
        workers.add(delivery.topic.slice('demo.results.'.length));
        return workers.size >= 2;
      },
      60_000,
      'results from two different workers',
    );
    const discovered = await observer.discover({ service: 'demo-worker', routableOnly: true });
    expect(new Set(discovered.map((record) => record.info!.agentId))).toEqual(workers);
  }, 90_000);

  test('SIGTERM drains and stops the gateway with its agents', async () => {
    gateway.kill('SIGTERM');
    const result = await exited;
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).toContain('gateway stopped');
  }, 60_000);
});
