/**
 * Temp folders that remove themselves: made with a recognisable prefix under os.tmpdir() and
 * removed after the test file's last test (also when a test failed), so a run leaves nothing behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const created = new Set<string>();

// Registered when a test file imports this module (at collection time, where hooks are allowed).
if (typeof afterAll === 'function') afterAll(() => removeTempDirs());

/** A fresh folder `<tmpdir>/<prefix>XXXXXX`, removed after the current test file. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.add(dir);
  return dir;
}

/** Removes every folder made by {@link tempDir} so far. */
export function removeTempDirs(): void {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
  created.clear();
}
