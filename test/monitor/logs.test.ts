/**
 * Structured logs (pino) on a real gateway: a child logger per plugin, the level set per plugin
 * in the config, request and agent ids on the access log lines, and readable (pino-pretty) output
 * when stdout is a terminal while a pipe gets JSON.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { credentials, Metadata } from '@grpc/grpc-js';
import pino from 'pino';
import { startGateway, type Gateway } from '../../index';
import { GatewayServiceClient } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { connect } from '../../sdk';
import { CLI, spawnCli, waitForOutput } from '../helpers/cli';
import { eventually } from './support/gateway';

interface LogLine {
  level: number;
  msg: string;
  plugin?: string;
  [field: string]: unknown;
}

const DEBUG = 20;
const INFO = 30;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-logs-'));
}

describe('gateway logs', () => {
  test('one child logger per plugin with its configured level; access lines carry request and agent ids', async () => {
    const lines: LogLine[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    const dir = tempDir();
    let gateway: Gateway | undefined;
    const agent = () => connect(address);
    let address = '';
    try {
      gateway = await startGateway({
        logger: pino({ level: 'info' }, sink),
        config: {
          gateway: { dataDir: dir, processMetrics: false },
          plugins: [
            { use: 'registry-memory', logLevel: 'debug' },
            { use: 'router-embedded', logLevel: 'warn' },
            'auth-standard',
            { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
            { use: 'monitor-prometheus', logLevel: 'debug', options: { port: 0, accessLog: true } },
          ],
        },
      });
      address = gateway.transports()[0].addresses()[0]!;

      const worker = agent();
      await worker.register({ agentId: 'worker-1', service: 'worker', version: '1.0.0' });
      const client = new GatewayServiceClient(address, credentials.createInsecure());
      const metadata = new Metadata();
      metadata.set('x-request-id', 'req-7f3a');
      await new Promise<void>((resolve, reject) =>
        client.discover(
          { service: 'worker', versionRange: '', tags: {}, capabilities: [], routableOnly: false, limit: 0 },
          metadata,
          (error) => (error ? reject(error) : resolve()),
        ),
      );
      client.close();
      await worker.close({ deregister: true });

      const access = await eventually(
        () => {
          const found = lines.filter((line) => line.log === 'access');
          return found.some((line) => line.method === 'Discover') && found.some((line) => line.method === 'DeregisterAgent') && found;
        },
        5000,
        'access log lines',
      );
      // Every access line names its plugin, a request id, the peer, method, code and duration.
      for (const line of access) {
        expect(line).toMatchObject({
          level: DEBUG,
          plugin: 'monitor-prometheus',
          requestId: expect.any(String),
          code: expect.any(String),
          transport: 'grpc',
        });
        expect(typeof line.durationMs).toBe('number');
      }
      for (const method of ['RegisterAgent', 'Discover']) {
        const line = access.find((candidate) => candidate.method === method);
        expect(line).toMatchObject({ code: 'OK', peer: expect.stringMatching(/127\.0\.0\.1/) });
      }
      expect(access.find((line) => line.method === 'RegisterAgent')).toMatchObject({
        agentId: 'worker-1',
        requestId: expect.stringMatching(/^rpc-\d+$/),
      });
      expect(access.find((line) => line.method === 'DeregisterAgent')).toMatchObject({ agentId: 'worker-1' });
      expect(access.find((line) => line.method === 'Discover')).toMatchObject({ requestId: 'req-7f3a' });

      // Levels per plugin: registry-memory turned up to debug, router-embedded down to warn, the rest at the root's info.
      expect(lines).toContainEqual(
        expect.objectContaining({ level: DEBUG, plugin: 'registry-memory', msg: 'agent registered', agentId: 'worker-1' }),
      );
      expect(lines.filter((line) => line.plugin === 'router-embedded' && line.level < 40)).toEqual([]);
      expect(lines).toContainEqual(expect.objectContaining({ level: INFO, plugin: 'transport-grpc', msg: 'gRPC transport listening' }));
      const debugFrom = new Set(lines.filter((line) => line.level === DEBUG).map((line) => line.plugin));
      expect([...debugFrom].sort()).toEqual(['monitor-prometheus', 'registry-memory']);
      // Kernel lines (no plugin) carry the gateway id; plugin lines add their plugin name.
      expect(lines).toContainEqual(expect.objectContaining({ level: INFO, msg: 'gateway ready' }));
    } finally {
      await gateway?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a terminal gets readable pino-pretty lines, a pipe gets JSON', async () => {
    const dir = tempDir();
    const configFile = path.join(dir, 'gateway.config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        gateway: { dataDir: path.join(dir, 'data'), logFormat: 'auto' },
        plugins: [
          'registry-memory',
          'router-embedded',
          'auth-standard',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          { use: 'monitor-prometheus', options: { port: 0 } },
        ],
      }),
    );
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} start -c ${JSON.stringify(configFile)}`;
    // util-linux `script` runs the gateway on a pseudo-terminal, as an operator's shell would.
    const terminal = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, OPENCLAW_FROM_SOURCE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const piped = spawnCli(['start', '-c', configFile], { cwd: dir });
    try {
      // eslint-disable-next-line no-control-regex
      const pretty = (await waitForOutput(terminal, /gateway ready/, 30_000)).replace(/\x1b\[[0-9;]*m/g, '');
      expect(pretty).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: gateway ready/m);
      expect(pretty).toMatch(/INFO: gRPC transport listening\s*\n\s+gateway: "[^"]+"\s*\n\s+plugin: "transport-grpc"/);
      expect(pretty).not.toMatch(/^\{"level"/m);

      const json = await waitForOutput(piped, /gateway ready/, 30_000);
      const ready = json.split('\n').find((line) => line.includes('gateway ready'))!;
      expect(JSON.parse(ready)).toMatchObject({ level: INFO, msg: 'gateway ready' });
    } finally {
      for (const child of [terminal, piped]) {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
