/**
 * A real gateway process (test/fixtures/durable-gateway.ts) for tests that kill -9 or restart it
 * on the same data folder and port, plus small gRPC helpers shared by those tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { GatewayServiceClient, type Delivery, type Event } from '../../proto/gen/openclaw/gateway/v1/gateway';

const FIXTURE = path.join(__dirname, '../fixtures/durable-gateway.ts');

export class GatewayProcess {
  private child?: ChildProcess;
  private stderr = '';

  constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly router: Record<string, unknown>,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', FIXTURE, JSON.stringify({ dataDir: this.dataDir, port: this.port, router: this.router })],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    this.stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`gateway not ready in ${timeoutMs} ms: ${this.stderr}`)), timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready ')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`gateway exited before ready (${code ?? signal}): ${this.stderr}`));
      });
    });
  }

  /** SIGKILL and wait until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }
}

export function grpcClient(address: string): GatewayServiceClient {
  // Reconnect quickly after the gateway comes back.
  return new GatewayServiceClient(address, credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 50,
    'grpc.max_reconnect_backoff_ms': 250,
    // A fresh client after a restart must not inherit a closed client's connection.
    'grpc.use_local_subchannel_pool': 1,
  });
}

export function deliveriesOf(event: Event): Delivery[] {
  return event.kind?.$case === 'delivery' ? [event.kind.value] : event.kind?.$case === 'batch' ? event.kind.value.deliveries : [];
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
