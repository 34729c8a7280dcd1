/**
 * A private three-node nats-server cluster (JetStream, one config file and store dir per node) on
 * fixed private ports, for tests that need a real cluster that is still forming when used.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { natsServerBinary } from './nats-env';

export interface NatsClusterNode {
  name: string;
  clientPort: number;
  clusterPort: number;
  child: ChildProcess;
}

export interface NatsCluster {
  urls: string[];
  nodes: NatsClusterNode[];
  dir: string;
  /** SIGKILLs node `index` (0-based) and waits for it to exit. */
  kill(index: number): Promise<void>;
  /** Starts node `index` again on its ports and store dir (after `kill`); resolves when its client port accepts. */
  restart(index: number): Promise<void>;
  /** The last lines of node `index`'s nats-server log (removed with the cluster by `stop`). */
  logTail(index: number, lines?: number): string;
  /** SIGKILLs every node still running and removes the store dirs. */
  stop(): Promise<void>;
}

export function nodeConfig(name: string, clientPort: number, clusterPort: number, storeDir: string, routes: number[]): string {
  return [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${clientPort}`,
    `jetstream { store_dir: "${storeDir}" }`,
    'cluster {',
    '  name: openclaw-test',
    `  listen: 127.0.0.1:${clusterPort}`,
    `  routes: [${routes.map((port) => `nats-route://127.0.0.1:${port}`).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Starts three nodes at once (or the first `start` of them); resolves when their client ports accept (JetStream may have no leader yet). */
export async function startNatsCluster(basePort: number, options: { jetstream?: boolean; start?: number } = {}): Promise<NatsCluster> {
  const binary = natsServerBinary();
  if (!binary) throw new Error('nats-server is not installed');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-natscluster-'));
  const clusterPorts = [0, 1, 2].map((i) => basePort + 3 + i);
  const nodes: NatsClusterNode[] = [];
  const configFile = (name: string) => path.join(dir, `${name}.conf`);
  const logFile = (name: string) => path.join(dir, `${name}.log`);
  const killNode = (node: NatsClusterNode): Promise<void> => {
    if (node.child.exitCode !== null || node.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => node.child.once('exit', () => resolve()));
    node.child.kill('SIGKILL');
    return exited;
  };
  const waitReachable = async (node: NatsClusterNode): Promise<void> => {
    for (let tries = 0; !(await reachable(node.clientPort)); tries++) {
      if (tries > 200 || node.child.exitCode !== null) throw new Error(`nats-server ${node.name} did not start on port ${node.clientPort}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const cluster: NatsCluster = {
    urls: [0, 1, 2].map((i) => `nats://127.0.0.1:${basePort + i}`),
    nodes,
    dir,
    kill: (index) => killNode(nodes[index]),
    logTail(index, lines = 20) {
      try {
        return readFileSync(logFile(nodes[index].name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async restart(index) {
      const node = nodes[index];
      await killNode(node);
      node.child = spawn(binary, ['-c', configFile(node.name), '-l', logFile(node.name)], { stdio: 'ignore' });
      await waitReachable(node);
    },
    async stop() {
      await Promise.all(nodes.map(killNode));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < (options.start ?? 3); i++) {
      const name = `n${i + 1}`;
      const store = path.join(dir, name);
      await mkdir(store);
      let config = nodeConfig(
        name,
        basePort + i,
        clusterPorts[i],
        store,
        clusterPorts.filter((_, j) => j !== i),
      );
      if (options.jetstream === false) config = config.replace(/^jetstream .*$/m, '');
      const file = configFile(name);
      await writeFile(file, config);
      nodes.push({
        name,
        clientPort: basePort + i,
        clusterPort: clusterPorts[i],
        child: spawn(binary, ['-c', file, '-l', logFile(name)], { stdio: 'ignore' }),
      });
    }
    for (const node of nodes) await waitReachable(node);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
