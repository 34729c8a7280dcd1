/**
 * The demo's agents are started from the package root, which the sandbox binds read-only: it must
 * be the folder with node_modules, not dist/ (the build copies package.json there).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../examples/demo/agents';

test('packageRoot skips the package.json that the build copies into dist/', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocgw-root-'));
  try {
    const manifest = JSON.stringify({ name: 'openclaw-gateway' });
    writeFileSync(path.join(root, 'package.json'), manifest);
    mkdirSync(path.join(root, 'bin'));
    writeFileSync(path.join(root, 'bin', 'openclaw-gateway.js'), '');
    mkdirSync(path.join(root, 'dist', 'examples', 'demo'), { recursive: true });
    writeFileSync(path.join(root, 'dist', 'package.json'), manifest);
    expect(packageRoot(path.join(root, 'dist', 'examples', 'demo'))).toBe(root);
    expect(packageRoot(path.join(root, 'examples', 'demo'))).toBe(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
