/**
 * The README's "Talk to the Python agent from a shell" lines, run as written: the gateway with its
 * embedded defaults (`start` in an empty folder, demo off), the Python example agent, and the CLI's
 * subscribe / request / send / publish. The test only moves the ports (OPENCLAW_GRPC_PORT and
 * OPENCLAW_TARGET, which the commands honour) off 7400, and runs `python3` as /usr/bin/python3
 * (Debian's, which has grpcio). Then the README's promise after it: stop the gateway, start it
 * again, and the agent answers again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collect, spawnCli, waitForOutput } from '../helpers/cli';
import { PYTHON } from '../helpers/python-agent';
import { eventually, repoRoot } from './package-project';

// From this branch's fixed-port range (the defaults' ports moved by their variables).
const GRPC_PORT = 24118;
const MONITOR_PORT = 24119;

/** The commands of the README block after the walkthrough marker, without their comments. */
function walkthroughLines(): string[] {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const block = /<!-- walkthrough: python[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no python walkthrough block');
  return block[1]
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter(Boolean);
}

describe("README's Python walk-through", () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    OPENCLAW_FROM_SOURCE: '1',
    OPENCLAW_GRPC_PORT: String(GRPC_PORT),
    OPENCLAW_TARGET: `127.0.0.1:${GRPC_PORT}`,
    OPENCLAW_MONITOR_PORT: String(MONITOR_PORT),
    OPENCLAW_DATA_DIR: path.join(dir, 'data'),
    OPENCLAW_DEMO: '0',
    // The agent's default stub cache (tempfile.gettempdir()) lands in this test's folder.
    TMPDIR: dir,
    PYTHONUNBUFFERED: '1',
    FORCE_COLOR: '0',
  });
  /** A README line through the shell, from the repository root; `exec` so signals reach the program. */
  const shell = (line: string): ChildProcess => {
    const child = spawn('/bin/sh', ['-c', `exec ${line.replace(/^python3 /, `${PYTHON} `)}`], {
      cwd: repoRoot,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  };
  const startGateway = async (): Promise<ChildProcess> => {
    // `npm start` builds, then runs `openclaw-gateway start`; from source here, in an empty folder.
    const gateway = spawnCli(['start'], { cwd: dir, env: env() });
    children.push(gateway);
    await waitForOutput(gateway, new RegExp(`listening on 127\\.0\\.0\\.1:${GRPC_PORT}`), 60_000);
    return gateway;
  };
  const stopped = (child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-walkthrough-'));
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await stopped(child, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the lines work as the README says, and keep working across a gateway restart', async () => {
    const [gatewayLine, agentLine, subscribeLine, requestLine, sendLine, publishLine, ...rest] = walkthroughLines();
    expect(rest).toEqual([]);
    expect(gatewayLine).toBe('OPENCLAW_DEMO=0 npm start');

    let gateway = await startGateway();
    const agent = shell(agentLine);
    let agentOutput = '';
    agent.stdout!.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    agent.stderr!.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    await eventually(() => agentOutput.includes('"event": "subscribed"'), 60_000, `the agent's session; output:\n${agentOutput}`);

    const subscriber = shell(subscribeLine);
    let subscribed = '';
    subscriber.stdout!.on('data', (chunk: Buffer) => (subscribed += chunk.toString()));
    const subscriberDone = collect(subscriber);
    await waitForOutput(subscriber, /subscribed to jobs\.>/);

    const reply = await collect(shell(requestLine));
    expect(reply.stderr).toBe('');
    expect(reply.stdout).toBe('python:hello\n');

    const sent = await collect(shell(sendLine));
    expect(sent.stdout).toMatch(/^sent to agent py-1: id \S+ receivers 1\n$/);
    await eventually(() => /"event": "delivery".*"payload": "for your inbox"/.test(agentOutput), 20_000, 'the inbox delivery at the agent');

    const published = await collect(shell(publishLine));
    expect(published.stdout).toMatch(/^published to jobs\.build\.42: id \S+ receivers 2\n$/);
    await eventually(
      () => /"event": "delivery".*"topic": "jobs\.build\.42".*"payload": "compile"/.test(agentOutput),
      20_000,
      'the topic delivery at the agent',
    );
    await eventually(() => subscribed === '[#1] jobs.build.42: compile\n', 20_000, `the subscriber's line; printed:\n${subscribed}`);
    expect(await stopped(subscriber, 'SIGINT')).toBe(0);
    await subscriberDone;

    // "Stop the gateway (Ctrl-C) and start it again": the agent comes back by itself.
    expect(await stopped(gateway, 'SIGINT')).toBe(0);
    await eventually(() => agentOutput.includes('"event": "stream_ended"'), 30_000, `the agent noticing; output:\n${agentOutput}`);
    gateway = await startGateway();
    await eventually(
      () => (agentOutput.match(/"event": "subscribed"/g) ?? []).length >= 2,
      60_000,
      `the agent's second session; output:\n${agentOutput}`,
    );
    const again = await collect(shell(requestLine));
    expect(again.stdout).toBe('python:hello\n');
    expect(agent.exitCode).toBeNull();

    expect(await stopped(agent, 'SIGTERM')).toBe(0);
    expect(await stopped(gateway, 'SIGTERM')).toBe(0);
  }, 300_000);
});
