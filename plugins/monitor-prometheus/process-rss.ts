/**
 * Resident set size of a local process, read from procfs. Agents are separate processes the
 * gateway may not have started, so this is the one passive way to watch their memory.
 */
import fs from 'node:fs';

const VM_RSS = /^VmRSS:\s+(\d+)\s+kB/m;

/** RSS in bytes, or undefined when the process is gone or procfs is unavailable (non-Linux). */
export function readProcessRss(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = VM_RSS.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a pid from an agent tag; rejects anything that is not a plain positive integer. */
export function parsePid(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9][0-9]{0,9}$/.test(value)) return undefined;
  return Number(value);
}
