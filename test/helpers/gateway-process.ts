/**
 * `startGatewayProcess()`: the real `openclaw-gateway start` in a child process (through a shell, so
 * the test can choose its umask), with a JSON config in a temp dir, gRPC on a free loopback port
 * and, unless left out, a Unix socket in the data dir. `stop()` SIGTERMs it (SIGKILL after 10 s)
 * and removes the temp dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, waitForOutput } from './cli';
import { checkoutSeenBy, CHECKOUT, type CheckoutView } from './checkout-seen-by';

export interface GatewayProcessOptions {
  /**
   * Plugins besides transport-grpc (registry-memory, router-embedded and open auth-standard by
   * default); a function gets the checkout's path as the gateway sees it (see `user`).
   */
  plugins?: unknown[] | ((checkout: string) => unknown[]);
  /** Options of transport-grpc merged over the defaults (loopback port 0 and `<dataDir>/gw.sock`). */
  transport?: Record<string, unknown>;
  /** Umask of the gateway process, e.g. '000'. */
  umask?: string;
  /** gateway.dataDir; `<temp dir>/data` by default. */
  dataDir?: string;
  /**
   * Run the gateway as this user (the temp dir is given to it), e.g. 65534 to test a non-root
   * gateway; where the user cannot reach this checkout, it sees it at another path (checkout-seen-by).
   */
  user?: { uid: number; gid: number };
}

export interface GatewayProcess {
  child: ChildProcess;
  /** `127.0.0.1:<port>` of the gRPC transport. */
  grpcAddress: string;
  dir: string;
  dataDir: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-proc-'));
  const dataDir = options.dataDir ?? path.join(dir, 'data');
  const configFile = path.join(dir, 'gateway.config.json');
  const view: CheckoutView | undefined = options.user && checkoutSeenBy(options.user);
  const checkout = view?.root ?? CHECKOUT;
  const plugins = typeof options.plugins === 'function' ? options.plugins(checkout) : options.plugins;
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      gateway: { dataDir, drainTimeoutMs: 2000, logFormat: 'json' },
      plugins: [
        ...(plugins ?? ['registry-memory', 'router-embedded', 'auth-standard']),
        {
          use: 'transport-grpc',
          options: { listen: [{ host: '127.0.0.1', port: 0 }, { socket: path.join(dataDir, 'gw.sock') }], ...options.transport },
        },
      ],
    }),
  );
  if (options.user) fs.chownSync(dir, options.user.uid, options.user.gid);
  const cli = path.join(checkout, path.relative(CHECKOUT, CLI));
  const argv = ['/bin/sh', '-c', `umask ${options.umask ?? '022'} && exec "$0" "$@"`, process.execPath, cli, 'start', '-c', configFile];
  const [file, args, asUser] = view ? view.spawnArgs(argv) : [argv[0], argv.slice(1), {}];
  const child = spawn(file, args, {
    cwd: dir,
    env: { ...process.env, OPENCLAW_FROM_SOURCE: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asUser,
  });
  let seen = '';
  child.stdout?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    view?.dispose();
  };
  try {
    const started = await waitForOutput(child, /"listening on 127\.0\.0\.1:\d+/, 60_000);
    const grpcAddress = /"listening on (127\.0\.0\.1:\d+)/.exec(started)![1];
    return { child, grpcAddress, dir, dataDir, output: () => seen, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
