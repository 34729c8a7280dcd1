import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { SandboxProfile } from '../../kernel';

/**
 * Where the gateway's Unix socket appears inside every sandbox. Not at its host path: that usually
 * lies under the host's /tmp, and binding it there would create host directories inside the
 * agent's private /tmp scratch (and tell the agent the host's layout).
 */
export const SANDBOX_GATEWAY_SOCKET = '/run/openclaw/gateway.sock';

export interface SandboxLayout {
  runtimePaths: readonly string[];
  networkPaths: readonly string[];
  uid: number;
  gid: number;
  /** Refuse user namespaces inside (`--disable-userns`, bubblewrap >= 0.8). */
  disableUserns: boolean;
}

/** Mounts of the runtime: read-only binds, and the host's top-level symlinks (usrmerge) recreated. */
export function runtimeMounts(paths: readonly string[]): string[] {
  const args: string[] = [];
  const seen = new Set<string>();
  // Node itself may live outside /usr (nvm, /opt): bind its prefix too.
  const nodePrefix = path.dirname(path.dirname(process.execPath));
  for (const hostPath of [...paths, nodePrefix]) {
    if (seen.has(hostPath) || !existsSync(hostPath)) continue;
    seen.add(hostPath);
    if (lstatSync(hostPath).isSymbolicLink() && path.dirname(hostPath) === '/') {
      args.push('--symlink', readlinkSync(hostPath), hostPath);
    } else {
      args.push('--ro-bind', hostPath, hostPath);
    }
  }
  return args;
}

/** Namespace and session flags: everything unshared (network only when the profile has none). */
export function isolationFlags(network: boolean, layout: Pick<SandboxLayout, 'uid' | 'gid' | 'disableUserns'>): string[] {
  const flags = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--uid',
    String(layout.uid),
    '--gid',
    String(layout.gid),
    '--hostname',
    'openclaw-agent',
    '--die-with-parent',
    '--new-session',
  ];
  if (!network) flags.push('--unshare-net');
  // A user namespace of its own would give the agent a full capability set there: the door to
  // kernel attack surface (netfilter, mounts of more filesystem types) that nothing else opens.
  if (layout.disableUserns) flags.push('--disable-userns');
  return flags;
}

export interface AgentMounts {
  profile: SandboxProfile;
  scratchDir: string;
  gatewaySocket?: string;
  cwd?: string;
  env: Record<string, string>;
}

/** The full bwrap argument list (before `--`) for one agent. */
export function agentArguments(layout: SandboxLayout, mounts: AgentMounts): string[] {
  const { profile } = mounts;
  const args = [...isolationFlags(profile.network, layout), ...runtimeMounts(layout.runtimePaths)];
  if (profile.network) {
    for (const p of layout.networkPaths) args.push('--ro-bind-try', p, p);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--bind', mounts.scratchDir, '/tmp');
  for (const p of profile.readOnlyPaths) args.push('--ro-bind', p, p);
  for (const p of profile.readWritePaths) args.push('--bind', p, p);
  if (mounts.gatewaySocket) args.push('--bind', mounts.gatewaySocket, SANDBOX_GATEWAY_SOCKET);
  if (mounts.cwd) {
    const covered = [...profile.readOnlyPaths, ...profile.readWritePaths].some(
      (p) => mounts.cwd === p || mounts.cwd!.startsWith(p.endsWith('/') ? p : p + '/'),
    );
    if (!covered) args.push('--ro-bind', mounts.cwd, mounts.cwd);
    args.push('--chdir', mounts.cwd);
  } else {
    args.push('--chdir', '/tmp');
  }
  args.push('--clearenv');
  for (const [name, value] of Object.entries(mounts.env)) args.push('--setenv', name, value);
  return args;
}
