/**
 * `openclaw-gateway status` and `agents` as an operator runs them: the real CLI process against a
 * real gateway (gRPC on loopback TCP and a Unix socket), agents registered with the SDK.
 */
import net from 'node:net';
import { connect, type Agent } from '../../sdk';
import { runCli } from '../helpers/cli';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Table rows (after the header and dashes) split on the two-space column gap. */
function rowsOf(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .slice(2)
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('openclaw-gateway status / agents against a running gateway', () => {
  let gw: TestGateway;
  const agents: Agent[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ extraPlugins: [{ use: 'monitor-prometheus', options: { port: 0 } }] });
    for (const [agentId, service, version] of [
      ['planner-1', 'planner', '2.0.0'],
      ['worker-1', 'worker', '1.4.2'],
      ['worker-2', 'worker', '1.4.2'],
    ] as const) {
      const agent = connect(gw.address);
      agents.push(agent);
      await agent.register({ agentId, service, version, leaseTtlMs: 60_000 });
    }
    gw.gateway.service('registry')!.setHealth('worker-2', 'degraded', 'test: slow answers');
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await gw?.stop();
  });

  test('status prints the gateway, its addresses and its plugins', async () => {
    const result = await runCli(['status', '--target', gw.address]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [summary, addresses, plugins] = result.stdout.trim().split('\n\n');
    expect(summary.split('\n')[0]).toMatch(/^GATEWAY\s+VERSION\s+STAGE\s+UPTIME\s+AGENTS$/);
    const [gatewayId, version, stage, uptime, agentCount] = rowsOf(summary)[0];
    expect(gatewayId).toBe(gw.gateway.info.id);
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(stage).toBe('ready');
    expect(uptime).toMatch(/^\d+s$|^\d+m \d+s$/);
    expect(agentCount).toBe('3');
    expect(rowsOf(addresses).map((row) => row[0])).toEqual(expect.arrayContaining([gw.address, `unix:${gw.socketPath}`]));
    expect(rowsOf(plugins)).toEqual(
      expect.arrayContaining([
        ['registry-memory', 'registry', expect.any(String)],
        ['router-embedded', 'router', expect.any(String)],
        ['auth-standard', 'auth', expect.any(String)],
        ['transport-grpc', 'transport', expect.any(String)],
        ['monitor-prometheus', 'monitor', expect.any(String)],
      ]),
    );
  });

  test('status --json over the Unix socket', async () => {
    const result = await runCli(['status', '--json', '--target', `unix:${gw.socketPath}`]);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status).toMatchObject({ gatewayId: gw.gateway.info.id, stage: 'ready', agents: 3 });
    expect(status.plugins.map((plugin: { name: string }) => plugin.name)).toContain('monitor-prometheus');
  });

  test('agents prints one row per agent with service, version, state, health and lease', async () => {
    const result = await runCli(['agents', '--target', gw.address]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^AGENT\s+SERVICE\s+VERSION\s+STATE\s+HEALTH\s+MANAGED\s+UP\s+LEASE$/);
    const rows = rowsOf(result.stdout);
    expect(rows.map((row) => row.slice(0, 6))).toEqual([
      ['planner-1', 'planner', '2.0.0', 'running', 'unknown', 'no'],
      ['worker-1', 'worker', '1.4.2', 'running', 'unknown', 'no'],
      ['worker-2', 'worker', '1.4.2', 'running', 'degraded', 'no'],
    ]);
    for (const row of rows) expect(row[7]).toMatch(/^in \d+s$/);
  });

  test('agents --json, and an agent that leaves disappears', async () => {
    const leaving = connect(gw.address);
    await leaving.register({ agentId: 'short-lived', service: 'probe', version: '0.0.1' });
    const before = JSON.parse((await runCli(['agents', '--json', '--target', gw.address])).stdout);
    expect(before).toContainEqual(expect.objectContaining({ agentId: 'short-lived', service: 'probe', state: 'running', managed: false }));
    await leaving.close({ deregister: true });
    const after = JSON.parse((await runCli(['agents', '--json', '--target', gw.address])).stdout);
    expect(after.map((agent: { agentId: string }) => agent.agentId)).toEqual(['planner-1', 'worker-1', 'worker-2']);
  });

  test('an unreachable gateway is a clear message and exit 1', async () => {
    const target = `127.0.0.1:${await closedPort()}`;
    for (const command of [['status'], ['agents'], ['agents', 'restart', 'worker-1']]) {
      const result = await runCli([...command, '--target', target, '--timeout', '3000']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`cannot reach a gateway at ${target}`);
      expect(result.stderr).toMatch(/^error: (GatewayStatus|ListAgents|RestartAgent) failed: UNAVAILABLE/);
    }
  });

  test('managed-agent actions without a supervisor answer UNIMPLEMENTED, exit 1', async () => {
    const cases: Array<[string[], string]> = [
      [['agents', 'restart', 'worker-1'], 'RestartAgent'],
      [['agents', 'start', 'worker-1'], 'StartAgent'],
      [['agents', 'stop', 'worker-1'], 'StopAgent'],
      [['agents', 'drain', 'worker-1'], 'DrainAgent'],
      [['agents', 'upgrade', 'worker', '--version', '1.5.0'], 'UpgradeAgent'],
    ];
    for (const [args, rpc] of cases) {
      const result = await runCli([...args, '--target', gw.address]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        `error: ${rpc} failed: UNIMPLEMENTED GW_UNIMPLEMENTED: no supervisor plugin is configured; managed agents are not available`,
      );
    }
    // The connection options also work before the subcommand.
    const before = await runCli(['agents', '--target', gw.address, 'drain', 'worker-1']);
    expect(before.stderr).toContain('DrainAgent failed: UNIMPLEMENTED');
  }, 120_000); // six CLI processes, each compiling through tsx: slow on a loaded machine

  test("a bad argument is the gateway's INVALID_ARGUMENT with the field", async () => {
    const result = await runCli(['agents', 'restart', 'not a valid id!', '--target', gw.address]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: RestartAgent failed: INVALID_ARGUMENT GW_INVALID_ARGUMENT: agent_id: /);
  });
});
