import { readFileSync, readdirSync, statSync } from 'node:fs';

/**
 * Parent pid of every process on the host, read from /proc/<pid>/stat. The per-task `children`
 * files would be cheaper but need CONFIG_PROC_CHILDREN, which many kernels lack.
 */
function parentPids(): Map<number, number[]> {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = childrenOf.get(ppid);
    if (siblings) siblings.push(pid);
    else childrenOf.set(ppid, [pid]);
  }
  return childrenOf;
}

/** Host pids below `rootPid` (not including it), breadth first. Bounded by `limit`. */
export function descendantPids(rootPid: number, limit = 4096): number[] {
  const childrenOf = parentPids();
  const found: number[] = [];
  const pending = [rootPid];
  while (pending.length > 0 && found.length < limit) {
    for (const child of childrenOf.get(pending.shift()!) ?? []) {
      found.push(child);
      pending.push(child);
    }
  }
  return found.slice(0, limit);
}

/** Identity of an executable file (device and inode), to recognise a process that still runs it. */
export function executableIdentity(file: string): string {
  const stat = statSync(file);
  return `${stat.dev}:${stat.ino}`;
}

/**
 * True once `pid` runs something other than the `wrappers` (i.e. it exec'd the agent). /proc/<pid>/exe
 * resolves to the inode across mount namespaces, so this works for a process inside a sandbox.
 * Unreadable (not dumpable yet, or gone) counts as not yet.
 */
export function hasExecutedOtherThan(pid: number, wrappers: readonly string[]): boolean {
  try {
    return !wrappers.includes(executableIdentity(`/proc/${pid}/exe`));
  } catch {
    return false;
  }
}
