/**
 * Cross-gateway figures: runs `bench/cluster.ts` (two gateway processes on NATS JetStream) as a
 * child process and turns its JSON lines into rows. Skipped with a note when no NATS answers.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import type { ScenarioScope } from '../harness';
import type { ResultRow } from '../result';

interface ClusterLine {
  scenario: string;
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  messages: number;
}

export function natsReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url.replace(/^nats:/, 'http:'));
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 4222) });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

export async function clusterRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  if (!(await natsReachable(natsUrl))) {
    return [
      {
        scenario: 'cluster',
        metric: 'cross-gateway msg/s',
        unit: 'msg/s',
        gateway: { value: 0, runs: [] },
        notes: [`skipped: no NATS at ${natsUrl}`],
      },
    ];
  }
  const messages = scope.settings.quick ? 300 : 5000;
  const script = path.resolve(__dirname, '../cluster.ts');
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', script, '--messages', String(messages), '--nats', natsUrl], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`bench/cluster.ts exited with ${code}`))));
  });
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as ClusterLine)
    .map((line) => ({
      scenario: line.scenario,
      metric: `${line.scenario} msg/s (2 gateways on NATS, ${line.messages} messages)`,
      unit: 'msg/s',
      gateway: {
        value: line.msgsPerSec,
        runs: [line.msgsPerSec],
        latency: { count: line.messages, p50Ms: line.p50Ms, p99Ms: line.p99Ms, maxMs: line.p99Ms },
      },
    }));
}
