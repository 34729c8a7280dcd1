import { execFileSync } from 'node:child_process';

/** Whether `command` is found on PATH (setpriv and prlimit come with util-linux, absent on some hosts). */
export function commandExists(command: string): boolean {
  try {
    return execFileSync('sh', ['-c', 'command -v "$0"', command], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}
