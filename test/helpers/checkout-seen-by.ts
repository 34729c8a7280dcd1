/**
 * Where a process run as another user finds this checkout. A gateway dropped to uid 65534 must read
 * the checkout's sources and node_modules, but a clone in a `mktemp -d` directory (mode 0700) stops
 * it at the parent. Rather than loosen the host's permissions, such a process runs in a mount
 * namespace of its own, where the checkout is bind-mounted at a directory the user can reach.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHECKOUT = path.resolve(__dirname, '../..');

export interface User {
  uid: number;
  gid: number;
}

export interface CheckoutView {
  /** The checkout's path as the user's process sees it. */
  root: string;
  /** `[file, args, spawn options]` that run `argv` as the user with `root` in place. */
  spawnArgs(argv: string[]): [string, string[], { uid?: number; gid?: number }];
  dispose(): void;
}

export function checkoutSeenBy(user: User): CheckoutView {
  const probe = spawnSync(process.execPath, ['-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', __filename], {
    uid: user.uid,
    gid: user.gid,
    stdio: 'ignore',
  });
  if (probe.status === 0)
    return { root: CHECKOUT, spawnArgs: (argv) => [argv[0], argv.slice(1), { uid: user.uid, gid: user.gid }], dispose: () => {} };

  const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'ocgw-checkout-'));
  fs.chmodSync(mirror, 0o755);
  // unshare and setpriv exec (no fork), so the returned child's pid is the final program's and
  // signals sent to it reach that program.
  const script = `mount --bind "$0" "$1" && shift && exec setpriv --reuid=${user.uid} --regid=${user.gid} --clear-groups -- "$@"`;
  return {
    root: mirror,
    spawnArgs: (argv) => ['unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, CHECKOUT, mirror, ...argv], {}],
    dispose: () => fs.rmdirSync(mirror),
  };
}
