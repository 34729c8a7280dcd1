import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/temp-dir';
import { collect, runCli, spawnCli, waitForOutput } from '../helpers/cli';

const LOCAL = path.resolve(__dirname, '../fixtures/local-plugins');
const KERNEL_TYPES = path.resolve(__dirname, '../../kernel/config/types');
const localPlugins = ['registry', 'router', 'auth', 'transport'].map((kind) => path.join(LOCAL, `${kind}.js`));

function tempProject(prefix: string): string {
  return tempDir(`ocg-cli-${prefix}-`);
}

describe('openclaw-gateway CLI', () => {
  test('--version and --help', async () => {
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(require('../../package.json').version);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['start', 'validate', 'plugins']) expect(help.stdout).toContain(command);
  });

  test('validate on a broken config prints every error with its path and exits 1', async () => {
    const project = tempProject('broken');
    fs.writeFileSync(
      path.join(project, 'gateway.config.json'),
      JSON.stringify({
        gateway: { logLevel: 'loud' },
        plugins: [
          localPlugins[0],
          localPlugins[1],
          { use: localPlugins[3], options: { port: 99999, colour: 'red' } },
          'missing-plugin-xyz',
        ],
      }),
    );
    const result = await runCli(['validate'], { cwd: project });
    expect(result.code).toBe(1);
    const file = path.join(fs.realpathSync(project), 'gateway.config.json');
    const lines = result.stderr.split('\n').filter((line) => line.includes(' at /'));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`GW_CONFIG_INVALID ${file} at /gateway/logLevel: must be one of .*"info".* \\(got "loud"\\)`)),
        expect.stringContaining(
          `GW_PLUGIN_OPTIONS_INVALID ${file} plugin "local-transport" at /plugins/2/options/port: expected a value that must be <= 65535 (got 99999)`,
        ),
        expect.stringContaining(
          `GW_PLUGIN_OPTIONS_INVALID ${file} plugin "local-transport" at /plugins/2/options/colour: unknown property`,
        ),
        expect.stringContaining(`GW_PLUGIN_NOT_FOUND ${file} plugin "missing-plugin-xyz" at /plugins/3: cannot find plugin`),
      ]),
    );
    expect(lines).toHaveLength(4);
  });

  test.each([
    [
      'gateway.config.ts',
      (p: string[]) =>
        `import { defineConfig } from ${JSON.stringify(KERNEL_TYPES)};\nexport default defineConfig({ plugins: ${JSON.stringify(p)} });\n`,
    ],
    ['gateway.config.js', (p: string[]) => `module.exports = { plugins: ${JSON.stringify(p)} };`],
    ['gateway.config.mjs', (p: string[]) => `export default { plugins: ${JSON.stringify(p)} };`],
    ['gateway.config.json', (p: string[]) => JSON.stringify({ plugins: p })],
    ['gateway.config.yaml', (p: string[]) => `plugins:\n${p.map((x) => `  - ${x}`).join('\n')}\n`],
    ['.gatewayrc', (p: string[]) => JSON.stringify({ plugins: p })],
    ['package.json', (p: string[]) => JSON.stringify({ name: 'x', 'openclaw-gateway': { plugins: p } })],
  ])('finds and loads %s', async (fileName, render) => {
    const project = tempProject('format');
    fs.writeFileSync(path.join(project, fileName), render(localPlugins));
    const result = await runCli(['validate'], { cwd: project });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`config OK: ${path.join(fs.realpathSync(project), fileName)}`);
    expect(result.stdout).toMatch(/local-transport\s+transport\s+0\.0\.1\s+file:/);
  });

  test('plugins lists resolved plugins with kinds and versions', async () => {
    const project = tempProject('plugins');
    fs.writeFileSync(path.join(project, 'custom.json'), JSON.stringify({ plugins: localPlugins }));
    const result = await runCli(['plugins', '-c', 'custom.json'], { cwd: project });
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .slice(2)
      .map((line) => line.split(/\s+/).slice(0, 3).join(' '));
    expect(rows).toEqual([
      'local-registry registry 0.0.1',
      'local-router router 0.0.1',
      'local-auth auth 0.0.1',
      'local-transport transport 0.0.1',
    ]);
  });

  test('start runs until SIGTERM, then drains in reverse order and exits 0', async () => {
    const project = tempProject('start');
    fs.writeFileSync(path.join(project, 'gateway.config.json'), JSON.stringify({ gateway: { logFormat: 'json' }, plugins: localPlugins }));
    const child = spawnCli(['start'], { cwd: project });
    const done = collect(child);
    await waitForOutput(child, /listening on/);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    const messages = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string });
    const order = messages
      .map((m) => m.msg)
      .filter((m) => ['gateway ready', 'draining', 'transport draining', 'gateway stopped'].includes(m));
    expect(order).toEqual(['gateway ready', 'draining', 'transport draining', 'gateway stopped']);
  });

  test('start exits non-zero with the reason when a plugin fails to start', async () => {
    const project = tempProject('startfail');
    fs.writeFileSync(
      path.join(project, 'gateway.config.json'),
      JSON.stringify({
        gateway: { logFormat: 'json', logLevel: 'silent' },
        plugins: [...localPlugins.slice(0, 3), { use: localPlugins[3], options: { failStart: true } }],
      }),
    );
    const result = await runCli(['start'], { cwd: project });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('GW_PLUGIN_START_FAILED: plugin "local-transport" failed to start: address already in use');
  });
});
