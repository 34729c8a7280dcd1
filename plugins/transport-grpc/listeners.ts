/**
 * Listen addresses: turning options into grpc-js bind targets, refusing non-loopback TCP
 * listeners when the auth plugin is in loopback-only (open) mode, and preparing Unix socket paths.
 */
import net from 'node:net';
import path from 'node:path';
import { constants } from 'node:fs';
import { access, chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { GatewayError } from '../../kernel';
import type { ListenAddress } from './schema';

export interface BindTarget {
  /** Index in the `listen` option, for error messages. */
  index: number;
  kind: 'tcp' | 'unix';
  /** grpc-js bind string: `127.0.0.1:7400`, `[::1]:7400`, `unix:/abs/path`. */
  target: string;
  host?: string;
  socketPath?: string;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || bare.toLowerCase().startsWith('::ffff:127.');
  return false;
}

export function bindTargets(listen: readonly ListenAddress[], baseDir: string, loopbackOnly: boolean): BindTarget[] {
  return listen.map((address, index) => {
    if ('socket' in address) {
      const socketPath = path.resolve(baseDir, address.socket);
      return { index, kind: 'unix', target: `unix:${socketPath}`, socketPath };
    }
    if (loopbackOnly && !isLoopbackHost(address.host)) {
      throw new GatewayError(
        'GW_CONFIG_INVALID',
        `listen[${index}].host: "${address.host}" is not a loopback address, and the auth plugin allows only loopback ` +
          'listeners (open mode). Listen on 127.0.0.1/::1 or a Unix socket, or configure TLS/JWT authentication.',
        { field: `listen[${index}].host` },
      );
    }
    const host = net.isIPv6(address.host) ? `[${address.host}]` : address.host;
    return { index, kind: 'tcp', target: `${host}:${address.port}`, host };
  });
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Why a Unix socket cannot be created in its folder, or undefined when it can. The folder must
 * exist and be writable; only folders inside the gateway's dataDir (which the gateway creates)
 * may be missing. Checked by `validate` and again by start, so both give the same verdict.
 */
export async function socketFolderProblem(socketPath: string, dataDir: string): Promise<string | undefined> {
  const folder = path.dirname(socketPath);
  const info = await stat(folder).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    if (info.code === 'ENOENT' && isInside(folder, dataDir)) return undefined;
    if (info.code === 'ENOENT') return `the socket's folder "${folder}" does not exist; create it or choose another path`;
    return `the socket's folder "${folder}" cannot be used: ${info.message}`;
  }
  if (!info.isDirectory()) return `the socket's folder "${folder}" is not a directory`;
  const writable = await access(folder, constants.W_OK | constants.X_OK).then(
    () => undefined,
    (error: Error) => error,
  );
  if (writable) return `the socket's folder "${folder}" is not writable: ${writable.message}`;
  return undefined;
}

/**
 * Creates `folder` one level at a time. Node's `mkdir({ recursive: true })` never returns for a path
 * under /proc (it loops on ENOENT, spinning a core), and a start must fail, not hang.
 */
async function createFolder(folder: string): Promise<void> {
  const missing: string[] = [];
  let current = folder;
  while (
    !(await lstat(current).then(
      () => true,
      () => false,
    ))
  ) {
    missing.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const dir of missing) {
    // Not world-writable whatever the umask (else anyone could swap the socket); group may traverse
    // it, for a socketMode that grants the group access.
    const created = await mkdir(dir, { mode: 0o750 }).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
        return false;
      },
    );
    if (created) await chmod(dir, 0o750);
  }
}

/**
 * A socket file left by a gateway that crashed would make bind fail with EADDRINUSE; remove it when
 * nothing answers on it. A live socket (another gateway) is left alone and bind reports the clash.
 */
export async function prepareSocketPath(socketPath: string, dataDir: string): Promise<void> {
  const problem = await socketFolderProblem(socketPath, dataDir);
  if (problem) throw new GatewayError('GW_CONFIG_INVALID', problem);
  await createFolder(path.dirname(socketPath));
  const stats = await lstat(socketPath).catch(() => undefined);
  if (!stats) return;
  if (!stats.isSocket()) {
    throw new GatewayError('GW_CONFIG_INVALID', `listen socket "${socketPath}" exists and is not a socket; refusing to replace it`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!alive) await unlink(socketPath).catch(() => undefined);
}

export interface ListenProblem {
  index: number;
  /** JSON pointer into the transport's options. */
  path: string;
  message: string;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

function tcpKey(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase();
}

/**
 * Everything about the listeners that is knowable without binding: a non-loopback host when the
 * auth plugin allows only loopback (`loopbackOnly` undefined: the auth plugin did not say), a
 * socket folder that is missing or not writable, and one address listed twice (a wildcard host
 * overlaps every host on its port). `validate` reports these and start refuses them.
 */
export async function listenProblems(
  listen: readonly ListenAddress[],
  dataDir: string,
  loopbackOnly: boolean | undefined,
): Promise<ListenProblem[]> {
  const problems: ListenProblem[] = [];
  const sockets = new Map<string, number>();
  const ports = new Map<number, Array<{ host: string; index: number }>>();
  for (const [index, address] of listen.entries()) {
    if ('socket' in address) {
      const socketPath = path.resolve(dataDir, address.socket);
      const first = sockets.get(socketPath);
      if (first !== undefined) {
        problems.push({ index, path: `/listen/${index}/socket`, message: `"${socketPath}" is already listed at /listen/${first}` });
        continue;
      }
      sockets.set(socketPath, index);
      const problem = await socketFolderProblem(socketPath, dataDir);
      if (problem) problems.push({ index, path: `/listen/${index}/socket`, message: problem });
      continue;
    }
    if (loopbackOnly === true && !isLoopbackHost(address.host)) {
      problems.push({
        index,
        path: `/listen/${index}/host`,
        message:
          `"${address.host}" is not a loopback address, and the auth plugin allows only loopback listeners (open mode). ` +
          'Listen on 127.0.0.1/::1 or a Unix socket, or configure TLS/JWT authentication.',
      });
      continue;
    }
    // Port 0 picks a free port each time: never a clash.
    if (address.port === 0) continue;
    const host = tcpKey(address.host);
    const sameHost = (ports.get(address.port) ?? []).find(
      (other) => other.host === host || WILDCARD_HOSTS.has(other.host) || WILDCARD_HOSTS.has(host),
    );
    if (sameHost) {
      problems.push({
        index,
        path: `/listen/${index}`,
        message: `${address.host}:${address.port} is already listed at /listen/${sameHost.index}${sameHost.host === host ? '' : ' (a wildcard host covers every address on its port)'}; list each address once`,
      });
      continue;
    }
    ports.set(address.port, [...(ports.get(address.port) ?? []), { host, index }]);
  }
  return problems;
}
