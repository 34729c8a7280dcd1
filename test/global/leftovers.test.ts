/**
 * The leftovers check itself: a jest run whose test leaves a temp folder fails, naming it; one
 * that cleans up passes. Each runs in a jest of its own with this repository's global setup and
 * teardown, on the fixtures in test/fixtures/leftovers.
 */
import path from 'node:path';
import { run } from '../helpers/packed-package';

const repoRoot = path.resolve(__dirname, '../..');

function jestOn(fixture: string) {
  const config = {
    rootDir: repoRoot,
    roots: ['<rootDir>/test/fixtures/leftovers'],
    testMatch: [`**/${fixture}`],
    transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
    globalSetup: '<rootDir>/test/global/setup.js',
    globalTeardown: '<rootDir>/test/global/teardown.js',
  };
  return run(process.execPath, [require.resolve('jest/bin/jest'), '--config', JSON.stringify(config), '--ci'], {
    cwd: repoRoot,
    env: { OPENCLAW_ALLOW_LEFTOVERS: '' },
  });
}

describe('tests leave nothing behind', () => {
  test('a run whose test leaves a temp folder fails and names it', async () => {
    const result = await jestOn('leaves-a-folder.fixture.ts');
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/Tests leave nothing behind, but:\s+temp files or folders left behind by tests: router-gw-\w+/);
  }, 120_000);

  test('a run that cleans up passes', async () => {
    const result = await jestOn('cleans-up.fixture.ts');
    expect(result.output).not.toContain('Tests leave nothing behind');
    expect(result.code).toBe(0);
  }, 120_000);
});
