/**
 * The NATS server cluster tests run against: `NATS_URL` if set, else the local service at
 * 127.0.0.1:4222, else a private `nats-server -js` started on a free port when the binary exists.
 * Each test file takes a unique prefix so parallel runs and leftovers never collide, and deletes
 * every stream (and KV bucket) with that prefix afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';

export interface NatsEnv {
  url: string;
  /** Unique per call: use it as the plugins' `prefix`. */
  prefix: string;
  nc: NatsConnection;
  /** Deletes the prefix's streams/buckets, closes the client, stops a private server. */
  close(): Promise<void>;
}

const NATS_SERVER_BINARIES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

export function natsServerBinary(): string | undefined {
  return NATS_SERVER_BINARIES.find((file) => existsSync(file));
}

/** A private `nats-server -js`; `restart` brings it back on the same port and store (for outage tests). */
export interface PrivateNatsServer {
  url: string;
  port: number;
  child: ChildProcess;
  dir: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export async function startPrivateServer(): Promise<PrivateNatsServer> {
  const binary = natsServerBinary();
  if (!binary) throw new Error('no NATS server: set NATS_URL, run one at 127.0.0.1:4222, or install nats-server');
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-nats-'));
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await reachable('127.0.0.1', port)) return child;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`nats-server did not start on port ${port}`);
  };
  const server: PrivateNatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    child: await launch(),
    async stop() {
      if (server.child.exitCode !== null || server.child.signalCode !== null) return;
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    },
    async restart() {
      await server.stop();
      server.child = await launch();
    },
  };
  return server;
}

export async function natsEnv(): Promise<NatsEnv> {
  let url = process.env.NATS_URL;
  let privateServer: Awaited<ReturnType<typeof startPrivateServer>> | undefined;
  if (!url) {
    if (await reachable('127.0.0.1', 4222)) url = 'nats://127.0.0.1:4222';
    else {
      privateServer = await startPrivateServer();
      url = privateServer.url;
    }
  }
  const nc = await connect({ servers: url });
  const prefix = `t${randomBytes(5).toString('hex')}`;
  return {
    url,
    prefix,
    nc,
    async close() {
      try {
        const jsm = await nc.jetstreamManager();
        for await (const name of jsm.streams.names()) {
          if (name.includes(prefix)) await jsm.streams.delete(name).catch(() => undefined);
        }
      } finally {
        await nc.close();
        if (privateServer) {
          await privateServer.stop();
          await rm(privateServer.dir, { recursive: true, force: true });
        }
      }
    },
  };
}
