/**
 * Data at rest is private: what the gateway keeps on disk (its data dir, durable stores, audit
 * logs) holds payloads and identities, so directories it creates are 0700 and its files 0600,
 * whatever the process umask (umask only removes bits, but 000 leaves libraries' 0644/0664 defaults
 * world-readable, and an odd umask could remove the owner's own bits, hence the explicit chmod).
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * `mkdir -p` whose created directories are exactly 0700. Existing directories are left as they
 * are (the parent of an audit log may well be /var/log); see `tightenOwnDir` for the gateway's own.
 */
export function makePrivateDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  // Everything from the first created directory down to `dir` is new: set each exactly.
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    chmodSync(current, PRIVATE_DIR_MODE);
    if (current === path.resolve(first) || current === path.dirname(current)) break;
  }
}

/**
 * Makes a directory that belongs to the gateway (its data dir, a plugin's store) private: created
 * 0700, or, when it exists with access for group or others, set to 0700. Refused for a directory
 * the gateway's user does not own or one with the sticky bit (a shared place such as /tmp): those
 * are left alone and reported. Returns the previous mode when it was tightened.
 */
export function tightenOwnDir(dir: string): { tightenedFrom?: number; leftOpen?: string } {
  makePrivateDir(dir);
  const stats = statSync(dir);
  const mode = stats.mode & 0o7777;
  if ((mode & 0o077) === 0) return {};
  const uid = process.geteuid?.();
  if (uid !== undefined && stats.uid !== uid) return { leftOpen: `owned by uid ${stats.uid}, not the gateway's ${uid}` };
  if ((mode & 0o1000) !== 0) return { leftOpen: 'sticky (a shared directory)' };
  chmodSync(dir, PRIVATE_DIR_MODE);
  return { tightenedFrom: mode };
}

/** Sets every regular file directly in `dir` to 0600 (files a library created with its own mode). */
export function makeFilesPrivate(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) chmodSync(path.join(dir, entry.name), PRIVATE_FILE_MODE);
  }
}
