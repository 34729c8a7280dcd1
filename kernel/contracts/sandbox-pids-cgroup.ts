/**
 * Per-sandbox process limits through the cgroup `pids` controller: the one process limit that holds
 * whatever user runs the gateway (RLIMIT_NPROC is not enforced for uid 0 on the host) and counts the
 * sandbox's processes and threads only, not everything of the user.
 *
 * Works with cgroup v2 (a parent group that has `pids` in its `cgroup.subtree_control` and is
 * writable: delegated, or root's) and with the v1 `pids` hierarchy of hybrid hosts. The sandbox's
 * first process joins its group before it execs anything (`joinCommand`), so nothing it forks can
 * escape the count.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gatewayError } from '../errors';
import type { SpawnSpec } from './sandbox';

export type PidsCgroupSupport = { usable: true; version: 1 | 2; parent: string } | { usable: false; reason: string };

/** Prefix of the groups we create: `<prefix>.<gateway pid>.<n>`, so stale ones can be told apart. */
const GROUP_PREFIX = 'openclaw-sandbox';

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** This process's cgroup path in hierarchy `match` (`0::` for v2, a controller list line for v1). */
function ownCgroup(match: (line: string) => boolean): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find(match);
  return line === undefined ? undefined : line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).trim();
}

/**
 * Where per-sandbox pids groups can be created: `parent` given explicitly (an existing cgroup dir,
 * v1 or v2), or found: under cgroup v2 the gateway's own group, then (non-root gateways) its parent
 * (systemd's `Delegate=pids` with `DelegateSubgroup=`, which keeps the parent free of processes), when
 * writable and `pids` is (or can be) enabled for its children; else the gateway's group in the v1
 * `pids` hierarchy. Nothing is created; enabling `+pids` in a delegated group's
 * `cgroup.subtree_control` is the one write.
 */
export function pidsCgroupSupport(parent?: string, root = '/sys/fs/cgroup'): PidsCgroupSupport {
  if (parent !== undefined) return checkParent(parent);
  const reasons: string[] = [];
  if (existsSync(path.join(root, 'cgroup.controllers'))) {
    const own = ownCgroup((line) => line.startsWith('0::'));
    if (own !== undefined) {
      const ownDir = path.join(root, own);
      // The parent only for a non-root gateway: there, being able to write it proves it was
      // delegated; root can write any group (e.g. system.slice) and must not settle in a foreign one.
      const asRoot = process.geteuid?.() === 0;
      for (const candidate of ownDir === root || asRoot ? [ownDir] : [ownDir, path.dirname(ownDir)]) {
        const found = checkParent(candidate);
        if (found.usable) return found;
        reasons.push(found.reason);
      }
    }
  } else {
    reasons.push(`no cgroup v2 unified hierarchy at ${root}`);
  }
  const v1Root = path.join(root, 'pids');
  const ownV1 = existsSync(path.join(v1Root, 'tasks'))
    ? ownCgroup((line) => line.split(':')[1]?.split(',').includes('pids') ?? false)
    : undefined;
  if (ownV1 === undefined) {
    reasons.push(`no cgroup v1 pids hierarchy at ${v1Root}`);
  } else {
    const found = checkParent(path.join(v1Root, ownV1));
    if (found.usable) return found;
    reasons.push(found.reason);
  }
  return { usable: false, reason: reasons.join('; ') };
}

function checkParent(dir: string): PidsCgroupSupport {
  if (!existsSync(dir)) return { usable: false, reason: `cgroup ${dir} does not exist` };
  if (!writable(dir)) return { usable: false, reason: `cgroup ${dir} is not writable by the gateway's user (not delegated)` };
  if (existsSync(path.join(dir, 'tasks'))) {
    // v1: every group of the pids hierarchy has the controller.
    return existsSync(path.join(dir, 'pids.max')) || existsSync(path.join(dir, 'cgroup.procs'))
      ? { usable: true, version: 1, parent: dir }
      : { usable: false, reason: `cgroup ${dir} is not in a pids hierarchy` };
  }
  const subtreeFile = path.join(dir, 'cgroup.subtree_control');
  const enabled = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split(/\s+/).includes('pids') : false);
  if (enabled(subtreeFile)) return { usable: true, version: 2, parent: dir };
  if (!enabled(path.join(dir, 'cgroup.controllers')))
    return { usable: false, reason: `cgroup ${dir} has no pids controller (cgroup.controllers)` };
  try {
    // Refused (EBUSY) while the group itself holds processes: the kernel's no-internal-processes rule.
    writeFileSync(subtreeFile, '+pids');
    return { usable: true, version: 2, parent: dir };
  } catch (error) {
    return {
      usable: false,
      reason: `cgroup ${dir} cannot enable pids for its children (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    };
  }
}

/** Whether a process with this pid is alive (for telling stale groups of dead gateways apart). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes empty groups left by gateways that died (a SIGKILLed gateway cannot clean up). */
export function removeStalePidsCgroups(parent: string): number {
  let removed = 0;
  for (const name of readdirSync(parent)) {
    const [prefix, owner] = name.split('.');
    if (prefix !== GROUP_PREFIX || !owner || alive(Number(owner))) continue;
    try {
      rmdirSync(path.join(parent, name));
      removed += 1;
    } catch {
      // Still populated (its processes are dying) or gone: left for the next start.
    }
  }
  return removed;
}

let sequence = 0;

/** One sandbox's pids group. Create before spawning; `remove()` once the sandbox is gone. */
export class PidsCgroup {
  private constructor(readonly dir: string) {}

  static create(parent: string, maxProcesses: number): PidsCgroup {
    sequence += 1;
    const dir = path.join(parent, `${GROUP_PREFIX}.${process.pid}.${sequence}`);
    mkdirSync(dir);
    try {
      writeFileSync(path.join(dir, 'pids.max'), String(maxProcesses));
    } catch (error) {
      rmdirSync(dir);
      throw error;
    }
    return new PidsCgroup(dir);
  }

  /**
   * `sh -c` that moves itself into the group and then execs `argv`: the process joins before the
   * sandbox exists, so every process of it is counted (and the pid stays the same: exec, no fork).
   */
  joinCommand(argv: readonly string[]): [string, string[]] {
    return ['sh', ['-c', 'echo $$ > "$0" && exec "$@"', path.join(this.dir, 'cgroup.procs'), ...argv]];
  }

  /** Processes/threads counted now (for tests and diagnostics). */
  current(): number {
    return Number(readFileSync(path.join(this.dir, 'pids.current'), 'utf8').trim());
  }

  /**
   * Removes the group. The kernel refuses (EBUSY) while processes are still in it: those are
   * killed and removal retried for a while (a group still busy after that stays until the gateway's
   * next start, whose `removeStalePidsCgroups` takes it).
   */
  async remove(attempts = 50): Promise<boolean> {
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      try {
        rmdirSync(this.dir);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
        // Whatever is still counted here belongs to the sandbox that ended (a process that left
        // its process group with setsid, say): it goes too.
        this.killMembers();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    return false;
  }

  private killMembers(): void {
    let members: string;
    try {
      members = readFileSync(path.join(this.dir, 'cgroup.procs'), 'utf8');
    } catch {
      return;
    }
    for (const pid of members.split('\n')) {
      if (pid === '') continue;
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  }
}

/**
 * The pids cgroup holding a sandbox to `limits.processes`, when the host offers one (`parent`).
 * Without it the limit is RLIMIT_NPROC only, which the kernel does not enforce for uid 0: a root
 * gateway refuses the spawn (GW_FAILED_PRECONDITION, field `sandbox.limits.processes`) rather than
 * run an agent whose process limit would not hold.
 */
export function processLimitGroup(
  spec: Pick<SpawnSpec, 'agentId' | 'profile'>,
  parent: string | undefined,
  unavailable: string | undefined,
): PidsCgroup | undefined {
  const processes = spec.profile.limits.processes;
  if (processes === undefined) return undefined;
  if (parent) {
    try {
      return PidsCgroup.create(parent, processes);
    } catch (error) {
      throw gatewayError(
        'GW_FAILED_PRECONDITION',
        `agent "${spec.agentId}": cannot create a pids cgroup under ${parent} for limits.processes: ${(error as Error).message}`,
        {
          field: 'sandbox.limits.processes',
          cause: error,
          details: { reason: 'precondition' },
        },
      );
    }
  }
  if (process.geteuid?.() === 0) {
    throw gatewayError(
      'GW_FAILED_PRECONDITION',
      `agent "${spec.agentId}": sandbox.limits.processes cannot be enforced: the gateway runs as root, where RLIMIT_NPROC does not apply, and no pids cgroup is available (${unavailable ?? 'pidsCgroup: off'}); delegate a cgroup (option pidsCgroup) or drop the limit`,
      { field: 'sandbox.limits.processes', details: { reason: 'precondition' } },
    );
  }
  return undefined;
}

/** `pidsCgroup` plugin option (`auto`, `off` or a cgroup dir) resolved to where groups go, or why not. */
export function resolvePidsCgroupOption(option: string): PidsCgroupSupport {
  if (option === 'off') return { usable: false, reason: 'pidsCgroup: off' };
  return pidsCgroupSupport(option === 'auto' ? undefined : option);
}
