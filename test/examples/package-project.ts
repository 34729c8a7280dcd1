/**
 * A temp project with one of the example plugin packages installed in its node_modules (copied, as
 * npm installs a tarball), so a config can reference it BY PACKAGE NAME. Its peer dependency
 * `openclaw-gateway` is this repository: the built package when `dist/` exists, otherwise a one-line
 * entry re-exporting the kernel sources, so plugin and gateway share one kernel.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '../..');

export interface PackageProject {
  dir: string;
  remove(): void;
}

/** `packageName` is e.g. `@openclaw-examples/router-priority`; `exampleDir` its folder under examples/. */
export function projectWithPackage(packageName: string, exampleDir: string): PackageProject {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocgw-pkg-'));
  const installed = path.join(dir, 'node_modules', ...packageName.split('/'));
  mkdirSync(path.dirname(installed), { recursive: true });
  cpSync(path.join(repoRoot, 'examples', exampleDir), installed, { recursive: true });
  const gatewayPackage = path.join(dir, 'node_modules', 'openclaw-gateway');
  if (existsSync(path.join(repoRoot, 'dist', 'index.js'))) {
    symlinkSync(repoRoot, gatewayPackage, 'dir');
  } else {
    mkdirSync(gatewayPackage);
    writeFileSync(path.join(gatewayPackage, 'package.json'), JSON.stringify({ name: 'openclaw-gateway', main: 'index.js' }));
    writeFileSync(path.join(gatewayPackage, 'index.js'), `module.exports = require(${JSON.stringify(path.join(repoRoot, 'kernel'))});\n`);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The next item of an SDK subscription, or a clear failure after `timeoutMs`. */
export async function nextItem<T>(
  subscription: { next(): Promise<IteratorResult<T>> },
  timeoutMs = 10_000,
  what = 'a delivery',
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    const result = await Promise.race([subscription.next(), timeout]);
    if (result.done) throw new Error(`the subscription ended while waiting for ${what}`);
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
  what = 'a condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
