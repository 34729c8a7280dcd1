import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { promisify } from 'node:util';
import { gatewayError } from '../../kernel';

const run = promisify(execFile);

/** The namespaces every sandbox must have of its own; `net` only when the profile has no network. */
export const ISOLATED_NAMESPACES = ['user', 'pid', 'ipc', 'uts', 'mnt'] as const;

export function namespaceId(pid: number | 'self', namespace: string): string {
  return readlinkSync(`/proc/${pid}/ns/${namespace}`);
}

/**
 * Namespaces `pid` shares with the gateway (should be none of `expected`). An agent that exits at
 * once takes the sandbox's pid 1 with it before this runs: nothing is left that could share
 * anything, so a vanished process shares nothing (its exit is reported the normal way).
 */
export function sharedNamespaces(pid: number, expected: readonly string[]): string[] {
  try {
    return expected.filter((ns) => namespaceId(pid, ns) === namespaceId('self', ns));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return [];
    throw error;
  }
}

/**
 * Start-up self-check: runs `readlink /proc/self/ns/*` inside a sandbox built with `bwrapArgs` and
 * compares each namespace with the gateway's. Throws naming the namespaces that were not created.
 */
export async function probeNamespaces(bwrap: string, bwrapArgs: readonly string[], timeoutMs: number): Promise<void> {
  const namespaces = [...ISOLATED_NAMESPACES, 'net'];
  let stdout: string;
  try {
    ({ stdout } = await run(bwrap, [...bwrapArgs, '--', 'readlink', ...namespaces.map((ns) => `/proc/self/ns/${ns}`)], {
      timeout: timeoutMs,
    }));
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw gatewayError('GW_FAILED_PRECONDITION', `${bwrap} could not create a sandbox: ${stderr || (error as Error).message}`, {
      cause: error,
      details: { missingNamespaces: namespaces },
    });
  }
  const inside = stdout.trim().split('\n');
  // A namespace is missing when the probe reports the gateway's own id for it, or none at all.
  const missing = namespaces.filter((ns, index) => !inside[index]?.startsWith(`${ns}:[`) || inside[index] === namespaceId('self', ns));
  if (missing.length > 0) {
    throw gatewayError(
      'GW_FAILED_PRECONDITION',
      `${bwrap} did not create the ${missing.join(', ')} namespace(s); refusing to run agents (is bwrap a wrapper, or are unprivileged user namespaces disabled? see docs/sandbox.md)`,
      { details: { missingNamespaces: missing } },
    );
  }
}
