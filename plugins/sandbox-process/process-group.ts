import { readFileSync, readdirSync } from 'node:fs';

/**
 * Host pids in process group `groupId` (the agent and whatever it forked, unless they moved to a
 * group of their own), read from the `pgrp` field of /proc/<pid>/stat. Bounded by `limit`.
 */
export function processGroupMembers(groupId: number, limit = 4096): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // `pid (comm) state ppid pgrp ...`: comm may hold spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie still counts for its group but is no longer the agent's running process.
    if (Number(fields[2]) === groupId && fields[0] !== 'Z') members.push(pid);
    if (members.length >= limit) break;
  }
  return members;
}
