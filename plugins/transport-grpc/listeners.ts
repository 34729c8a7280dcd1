/**
 * Listen addresses: turning options into grpc-js bind targets, refusing non-loopback TCP
 * listeners when the auth plugin is in loopback-only (open) mode, and preparing Unix socket paths.
 */
import net from 'node:net';
import path from 'node:path';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
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

/**
 * A socket file left by a gateway that crashed would make bind fail with EADDRINUSE; remove it when
 * nothing answers on it. A live socket (another gateway) is left alone and bind reports the clash.
 */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  // Not world-writable whatever the umask (else anyone could swap the socket); group may traverse
  // it, for a socketMode that grants the group access.
  const created = await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o750 });
  if (created !== undefined) await chmod(path.dirname(socketPath), 0o750);
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
