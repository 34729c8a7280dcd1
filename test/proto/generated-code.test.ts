/**
 * `proto/gen` is checked in so builds need no code generator; this test fails when someone edits
 * `gateway.proto` (or bumps ts-proto) without running `npm run proto:gen`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const relative = path.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path.join(dir, entry.name), relative)));
    else files.push(relative);
  }
  return files.sort();
}

describe('generated protobuf code', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'openclaw-proto-gen-'));
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('proto/gen is byte-for-byte what `npm run proto:gen` produces', async () => {
    const buf = path.join(root, 'node_modules/.bin/buf');
    await run(buf, ['generate', '--template', 'buf.gen.yaml', '--output', outDir], { cwd: root, timeout: 60_000 });

    const fresh = path.join(outDir, 'proto/gen');
    const committed = path.join(root, 'proto/gen');
    const freshFiles = await listFiles(fresh);
    expect(freshFiles.length).toBeGreaterThan(0);
    expect(await listFiles(committed)).toEqual(freshFiles);
    for (const file of freshFiles) {
      const [expected, actual] = await Promise.all([readFile(path.join(fresh, file)), readFile(path.join(committed, file))]);
      if (!expected.equals(actual)) {
        throw new Error(`proto/gen/${file} is stale: run \`npm run proto:gen\` and commit the result`);
      }
    }
  });
});
