import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type CgroupSupport = { usable: true; dir: string } | { usable: false; reason: string };

/**
 * Whether per-sandbox cgroup v2 limits could be used here: the unified hierarchy mounted at
 * /sys/fs/cgroup, the gateway's own cgroup writable (delegated) and offering the memory and pids
 * controllers. Read-only checks; nothing is created.
 */
export function cgroupV2Support(root = '/sys/fs/cgroup'): CgroupSupport {
  if (!existsSync(path.join(root, 'cgroup.controllers'))) {
    return { usable: false, reason: `no cgroup v2 unified hierarchy at ${root} (cgroup v1 or hybrid host)` };
  }
  const own = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('0::'));
  if (!own) return { usable: false, reason: 'the gateway is not in a cgroup v2 group (/proc/self/cgroup has no 0:: line)' };
  const dir = path.join(root, own.slice(3).trim());
  const controllers = readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  const missing = ['memory', 'pids'].filter((name) => !controllers.includes(name));
  if (missing.length > 0) return { usable: false, reason: `the gateway's cgroup ${dir} lacks the ${missing.join(' and ')} controller(s)` };
  try {
    accessSync(dir, constants.W_OK);
    accessSync(path.join(dir, 'cgroup.subtree_control'), constants.W_OK);
  } catch {
    return { usable: false, reason: `the gateway's cgroup ${dir} is not delegated to its user (not writable)` };
  }
  return { usable: true, dir };
}
