/**
 * The Python example agent survives its gateway: started before any gateway listens, it logs why
 * registering failed and retries with backoff; when its gateway process is killed (SIGKILL) and a
 * new one starts on the same address, it logs why its session ended, reconnects, registers again
 * and answers requests again — `request` from the real CLI proves it. It never exits on its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runCli, spawnCli, waitForOutput } from '../helpers/cli';
import { PythonAgent } from '../helpers/python-agent';

// From this branch's fixed-port range: the second gateway must come back on the same address.
const PORT = 24117;
const TARGET = `127.0.0.1:${PORT}`;

interface GatewayProcess {
  child: ChildProcess;
  kill(signal: NodeJS.Signals): Promise<void>;
}

async function startGatewayProcess(dir: string, name: string): Promise<GatewayProcess> {
  const configFile = path.join(dir, `${name}.config.json`);
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      gateway: { dataDir: path.join(dir, `data-${name}`), drainTimeoutMs: 1000, logFormat: 'json' },
      plugins: [
        'registry-memory',
        'router-embedded',
        'auth-standard',
        { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: PORT }] } },
      ],
    }),
  );
  const child = spawnCli(['start', '-c', configFile], { cwd: dir });
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  try {
    await waitForOutput(child, new RegExp(`listening on 127\\.0\\.0\\.1:${PORT}`), 30_000);
  } catch (error) {
    await kill('SIGKILL');
    throw error;
  }
  return { child, kill };
}

describe('Python agent reconnects to a restarted gateway', () => {
  let dir: string;
  let stubs: string;
  let agent: PythonAgent | undefined;
  const gateways: GatewayProcess[] = [];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-py-reconnect-'));
    stubs = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-py-stubs-'));
  });

  afterAll(async () => {
    await agent?.stop();
    for (const gateway of gateways) await gateway.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(stubs, { recursive: true, force: true });
  });

  test('no gateway yet, gateway killed, new gateway on the same address: it logs, backs off, re-registers and answers', async () => {
    agent = new PythonAgent([
      '--target',
      TARGET,
      '--agent-id',
      'py-phoenix',
      '--service',
      'py-phoenix',
      '--stubs',
      stubs,
      '--retry-initial-ms',
      '100',
      '--retry-max-ms',
      '1000',
    ]);
    // Nothing listens yet: it says why, and keeps trying, with growing (capped, jittered) delays.
    await agent.waitFor((line) => line.event === 'register_failed' && line.code === 'UNAVAILABLE', 'a failed registration', 60_000);
    await agent.waitFor((line) => line.event === 'reconnecting' && Number(line.attempt) >= 3, 'several reconnect attempts', 30_000);
    const delays = agent.lines.filter((line) => line.event === 'reconnecting').map((line) => Number(line.delay_ms));
    expect(delays.every((delay) => delay >= 50 && delay <= 1000)).toBe(true);
    expect(String(agent.find((line) => line.event === 'reconnecting')!.reason)).toMatch(/^RegisterAgent failed: UNAVAILABLE/);

    gateways.push(await startGatewayProcess(dir, 'first'));
    await agent.waitFor((line) => line.event === 'subscribed', 'its first session', 30_000);
    const first = await runCli(['request', 'one', '--service', 'py-phoenix', '--target', TARGET]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('python:one\n');

    await gateways[0].kill('SIGKILL');
    const ended = await agent.waitFor((line) => line.event === 'stream_ended', 'the logged end of its session', 30_000);
    expect(ended.code).toBe('UNAVAILABLE');
    expect(String(ended.details)).not.toBe('');

    gateways.push(await startGatewayProcess(dir, 'second'));
    await agent.waitFor(
      () => agent!.count('subscribed') >= 2 && agent!.count('registered') >= 2,
      'its second registration and session',
      60_000,
    );
    const second = await runCli(['request', 'two', '--service', 'py-phoenix', '--target', TARGET]);
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe('python:two\n');
    expect(agent.child.exitCode).toBeNull();
    expect(agent.lines.filter((line) => line.event === 'registered').every((line) => line.agent_id === 'py-phoenix')).toBe(true);

    // Still a good citizen on the way out.
    await agent.stop();
    expect(agent.child.exitCode).toBe(0);
    expect(agent.find((line) => line.event === 'deregistered')).toBeDefined();
  }, 240_000);
});
