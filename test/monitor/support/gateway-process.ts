/**
 * The real `openclaw-gateway start` in a child process, with a JSON config written to a temp dir:
 * registry-memory, router-embedded, open auth-standard, gRPC on a free loopback port and the
 * monitor on a free port. For tests that must run the gateway outside jest's module sandbox (the
 * OTLP exporter loads `http` with a dynamic `import()`, which jest's VM refuses).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnCli, waitForOutput } from '../../helpers/cli';

export interface GatewayProcess {
  child: ChildProcess;
  /** `127.0.0.1:<port>` of the gRPC transport. */
  grpcAddress: string;
  /** `http://127.0.0.1:<port>` of the monitor. */
  monitorUrl: string;
  /** Everything the process printed so far (JSON log lines). */
  output(): string;
  stop(): Promise<void>;
}

export async function startGatewayProcess(monitorOptions: Record<string, unknown> = {}): Promise<GatewayProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-monitor-proc-'));
  const configFile = path.join(dir, 'gateway.config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      gateway: { dataDir: path.join(dir, 'data'), drainTimeoutMs: 2000, logFormat: 'json' },
      plugins: [
        'registry-memory',
        'router-embedded',
        'auth-standard',
        { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
        { use: 'monitor-prometheus', options: { port: 0, ...monitorOptions } },
      ],
    }),
  );
  const child = spawnCli(['start', '-c', configFile], { cwd: dir });
  let seen = '';
  child.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const started = await waitForOutput(child, /"listening on 127\.0\.0\.1:\d+/, 30_000);
    const grpcAddress = /"listening on (127\.0\.0\.1:\d+)/.exec(started)![1];
    const monitorUrl = /monitor listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(started)![1];
    return { child, grpcAddress, monitorUrl, output: () => seen, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
