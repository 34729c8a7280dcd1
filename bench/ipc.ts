/**
 * Commands between the harness and its child processes (servers under test and load
 * generators) over Node's IPC channel: `{ id, name, args }` in, `{ id, result | error }` out, and
 * one `ready` (or `failed`) announcement when a child has finished starting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export type CommandHandlers = Record<string, (args: any) => unknown>;

interface CommandMessage {
  id: number;
  name: string;
  args?: unknown;
}

/** Child side: answers commands until the parent disconnects. */
export function serveCommands(handlers: CommandHandlers): void {
  if (!process.send) throw new Error('benchmark children must be started by bench/run.ts (they need an IPC channel)');
  process.on('message', (message: CommandMessage) => {
    const handler = handlers[message.name];
    if (!handler) {
      process.send?.({ id: message.id, error: `unknown command ${message.name}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (result) => process.send?.({ id: message.id, result }),
        (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
      );
  });
  // The harness died: nothing is left to measure, do not linger holding ports and sockets.
  process.on('disconnect', () => process.exit(0));
}

export function announceReady(details: Record<string, unknown> = {}): void {
  process.send?.({ type: 'ready', ...details });
}

export function failStartup(error: unknown): never {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.send?.({ type: 'failed', message });
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

export interface SpawnOptions {
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** Raise the open-file limit first (many connections need many descriptors). */
  fileLimit?: number;
  /** How long starting may take before the child is killed. */
  readyTimeoutMs?: number;
  label?: string;
}

const TSX_LOADER = ['--require', require.resolve('tsx/cjs')];

/** Parent side: one child process running a bench TypeScript entry with a JSON config in argv[2]. */
export class BenchChild<Ready = Record<string, unknown>> {
  readonly process: ChildProcess;
  readonly label: string;
  readonly ready: Promise<Ready>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly spawnedAt = performance.now();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: any): void; reject(error: Error): void }>();

  constructor(entry: string, config: unknown, options: SpawnOptions = {}) {
    this.label = options.label ?? path.basename(entry, '.ts');
    const nodeArgs = [...TSX_LOADER, ...(options.nodeFlags ?? []), path.resolve(__dirname, entry), JSON.stringify(config ?? {})];
    const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
    this.process = options.fileLimit
      ? spawn(
          'bash',
          ['-c', `ulimit -n ${options.fileLimit} 2>/dev/null || ulimit -n hard; exec "$0" "$@"`, process.execPath, ...nodeArgs],
          { stdio },
        )
      : spawn(process.execPath, nodeArgs, { stdio });
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.label}: not ready within ${options.readyTimeoutMs ?? 60_000} ms`));
        this.process.kill('SIGKILL');
      }, options.readyTimeoutMs ?? 60_000);
      this.process.on('message', (message: any) => {
        if (message?.type === 'ready') {
          clearTimeout(timer);
          resolve(message as Ready);
        } else if (message?.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${this.label} failed to start: ${message.message}`));
        } else if (typeof message?.id === 'number') {
          const waiter = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error !== undefined) waiter?.reject(new Error(`${this.label}: ${message.error}`));
          else waiter?.resolve(message.result);
        }
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${this.label} exited before ready (code ${code}, signal ${signal})`));
        for (const waiter of this.pending.values()) waiter.reject(new Error(`${this.label} exited (code ${code}, signal ${signal})`));
        this.pending.clear();
      });
    });
    this.ready.catch(() => undefined);
  }

  call<T = unknown>(name: string, args?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.process.connected) {
        reject(new Error(`${this.label} is not running`));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.process.send({ id, name, args });
    });
  }

  /** Asks the child to finish (it exits by itself); kills it if it has not within `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    if (this.process.connected) this.call('stop').catch(() => undefined);
    else this.process.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }

  kill(signal: NodeJS.Signals): Promise<unknown> {
    this.process.kill(signal);
    return this.exited;
  }
}
