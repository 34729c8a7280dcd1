/** Resident memory of a set of processes, from `/proc/<pid>/status` (VmRSS). */
import { readFileSync } from 'node:fs';

export function residentBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // Gone between listing and reading: it uses no memory any more.
    }
  }
  return total;
}
