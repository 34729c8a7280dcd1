/**
 * `openclaw-gateway agents` acting on managed agents end to end: the real CLI process, a real
 * gateway with the supervisor and sandbox-process, and the fixture agent as real child processes.
 */
import { runCli } from '../helpers/cli';
import { fixtureAgent, startSupervised, waitUntil, type SupervisedGateway } from '../supervisor/harness';

jest.setTimeout(60_000);

function rowsOf(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .slice(2)
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('openclaw-gateway agents with a supervisor', () => {
  let sg: SupervisedGateway;

  beforeAll(async () => {
    sg = await startSupervised({ agents: [fixtureAgent('echo', 'well')] });
    await waitUntil(() => sg.registry.get('echo-1')?.state === 'running', 'echo-1 running');
  });

  afterAll(async () => {
    await sg?.stop();
  });

  test('lists the managed instance, restarts it, drains it, upgrades it and stops it', async () => {
    const listed = await runCli(['agents', '--managed', '--target', sg.address]);
    expect(listed.code).toBe(0);
    expect(rowsOf(listed.stdout).map((row) => row.slice(0, 6))).toEqual([
      ['echo-1', 'echo', '1.0.0', 'running', expect.stringMatching(/healthy|unknown/), 'yes'],
    ]);

    const firstPid = sg.supervisor.status('echo-1')[0].pid;
    const restarted = await runCli(['agents', 'restart', 'echo-1', '--target', sg.address]);
    expect(restarted.stderr).toBe('');
    expect(restarted.code).toBe(0);
    expect(restarted.stdout.trim()).toBe('RestartAgent echo-1: done');
    const afterRestart = sg.supervisor.status('echo-1')[0];
    expect(afterRestart).toMatchObject({ state: 'running', restarts: 1 });
    expect(afterRestart.pid).not.toBe(firstPid);
    expect(sg.events.states('echo-1')).toContain('running→initializing');

    const drained = await runCli(['agents', '--target', sg.address, 'drain', 'echo-1']);
    expect(drained.code).toBe(0);
    const table = await runCli(['agents', '--target', sg.address]);
    expect(rowsOf(table.stdout).find((row) => row[0] === 'echo-1')?.[3]).toBe('maintenance');

    const upgraded = await runCli(['agents', 'upgrade', 'echo', '--version', '1.1.0', '--target', sg.address]);
    expect(upgraded.stderr).toBe('');
    expect(upgraded.code).toBe(0);
    expect(upgraded.stdout.trim()).toBe('UpgradeAgent echo: every instance runs the new version');
    const json = JSON.parse((await runCli(['agents', '--managed', '--json', '--target', sg.address])).stdout) as Array<{
      service: string;
      version: string;
      state: string;
    }>;
    expect(json.filter((agent) => agent.state === 'running')).toEqual([expect.objectContaining({ service: 'echo', version: '1.1.0' })]);

    const running = json.find((agent) => agent.state === 'running') as unknown as { agentId: string };
    const stopped = await runCli(['agents', 'stop', running.agentId, '--target', sg.address]);
    expect(stopped.code).toBe(0);
    expect(sg.supervisor.status(running.agentId)[0]).toMatchObject({ state: 'terminated' });
  });

  test('an unknown managed id is NOT_FOUND with the gateway code, exit 1', async () => {
    const result = await runCli(['agents', 'restart', 'nobody-1', '--target', sg.address]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: RestartAgent failed: NOT_FOUND GW_NOT_FOUND: /);
  });
});
