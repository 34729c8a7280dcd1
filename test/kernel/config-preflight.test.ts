/**
 * Config mistakes are caught before start, precisely, by the real CLI: a syntax error in
 * gateway.config.ts gives file:line:column and a code frame (never "config OK", a temp file name
 * or a Node loader message), and `validate` refuses what `start` refuses for everything knowable
 * without binding, one error line per mistake.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCli, type CliResult } from '../helpers/cli';
import { tempDir } from '../helpers/temp-dir';

function project(config: string): { dir: string; file: string } {
  const dir = fs.realpathSync(tempDir('ocgw-preflight-'));
  const file = path.join(dir, 'gateway.config.ts');
  fs.writeFileSync(file, config);
  return { dir, file };
}

/** A gateway.config.ts importing from the package name, as an operator writes it. */
function configWith(pluginsSource: string): string {
  return [
    "import { defineConfig } from 'openclaw-gateway';",
    '',
    'export default defineConfig({',
    "  gateway: { dataDir: './data', drainTimeoutMs: 2000, processMetrics: false },",
    `  plugins: ${pluginsSource},`,
    '});',
    '',
  ].join('\n');
}

const BASE = "'registry-memory', 'router-embedded'";

function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => /^\s+GW_[A-Z_]+ /.test(line));
}

/** Both commands refuse, with the same error lines, and start never gets to listen. */
async function bothRefuse(dir: string): Promise<string[]> {
  const validate = await runCli(['validate'], { cwd: dir });
  const start = await runCli(['start'], { cwd: dir });
  for (const result of [validate, start]) {
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('config OK');
    expect(result.stdout + result.stderr).not.toMatch(/listening on|gateway ready/);
  }
  expect(errorLines(start)).toEqual(errorLines(validate));
  return errorLines(validate);
}

describe('syntax errors in gateway.config.ts', () => {
  const valid = configWith(`[${BASE}, 'auth-standard', 'transport-grpc']`);
  test.each([
    ['a missing comma', valid.replace("'registry-memory', 'router-embedded'", "'registry-memory' 'router-embedded'"), "',' expected"],
    ['an unclosed brace', valid.replace('});\n', ''), "'}' expected"],
    ['an unterminated string', valid.replace("'auth-standard'", "'auth-standard"), "',' expected"],
  ])(
    '%s is refused by validate and start with file:line:column and a code frame',
    async (_name, source, expected) => {
      expect(source).not.toBe(valid);
      const { dir, file } = project(source);
      const before = fs.readdirSync(dir).sort();
      for (const command of ['validate', 'start']) {
        const result = await runCli([command], { cwd: dir });
        expect(result.code).toBe(1);
        expect(result.stdout).not.toContain('config OK');
        const location = new RegExp(
          `GW_CONFIG_LOAD_FAILED: syntax error in ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:(\\d+):(\\d+): `,
        );
        const match = location.exec(result.stderr);
        expect(match).not.toBeNull();
        expect(result.stderr).toContain(expected);
        const line = Number(match![1]);
        const column = Number(match![2]);
        // The frame shows the offending line with a caret under the column.
        const frame = result.stderr.split('\n');
        const marked = frame.findIndex((text) => text.startsWith(`> ${line} |`));
        expect(marked).toBeGreaterThan(-1);
        expect(frame[marked]).toContain(source.split('\n')[line - 1]);
        expect(frame[marked + 1].indexOf('^') - frame[marked + 1].indexOf('|') - 2).toBe(column - 1);
        // Never the loader's temp file or Node's own loader wording.
        expect(result.stderr).not.toMatch(/\.mjs|[0-9a-f]{8}-[0-9a-f]{4}-|ERR_|node:internal|SyntaxError/);
      }
      // And nothing left beside the config (cosmiconfig wrote a temp .mjs there).
      expect(fs.readdirSync(dir).sort()).toEqual(before);
    },
    60_000,
  );

  test('a correct gateway.config.ts importing defineConfig from openclaw-gateway validates', async () => {
    const { dir, file } = project(
      configWith(`[${BASE}, 'auth-standard', { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } }]`),
    );
    const result = await runCli(['validate'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain(`config OK: ${file}`);
  }, 60_000);
});

describe('validate gives the verdict start gives, one line per mistake', () => {
  test('a non-loopback host while the auth plugin is in open mode', async () => {
    const { dir } = project(
      configWith(`[${BASE}, 'auth-standard', { use: 'transport-grpc', options: { listen: [{ host: '0.0.0.0', port: 0 }] } }]`),
    );
    const lines = await bothRefuse(dir);
    expect(lines).toEqual([
      expect.stringMatching(
        /GW_CONFIG_INVALID .* plugin "transport-grpc" at \/plugins\/3\/options\/listen\/0\/host: "0\.0\.0\.0" is not a loopback address/,
      ),
    ]);
  }, 60_000);

  test('a Unix socket whose folder is missing, or is a file', async () => {
    const { dir } = project(
      configWith(
        `[${BASE}, 'auth-standard', { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }, { socket: '/nonexistent-openclaw/gw.sock' }, { socket: '/etc/hostname/gw.sock' }] } }]`,
      ),
    );
    const lines = await bothRefuse(dir);
    expect(lines).toEqual([
      expect.stringMatching(/at \/plugins\/3\/options\/listen\/1\/socket: the socket's folder "\/nonexistent-openclaw" does not exist/),
      expect.stringMatching(
        /at \/plugins\/3\/options\/listen\/2\/socket: the socket's folder "\/etc\/hostname" (is not a directory|cannot be used)/,
      ),
    ]);
  }, 60_000);

  test('a socket inside the dataDir may be missing: the gateway creates its folder', async () => {
    const { dir } = project(
      configWith(`[${BASE}, 'auth-standard', { use: 'transport-grpc', options: { listen: [{ socket: 'run/gw.sock' }] } }]`),
    );
    const result = await runCli(['validate'], { cwd: dir });
    expect(result).toMatchObject({ code: 0 });
  }, 60_000);

  test('unreadable TLS files, with no follow-on error about the transport that depends on auth', async () => {
    const { dir } = project(
      configWith(
        `[${BASE}, { use: 'auth-standard', options: { mtls: { certFile: 'tls/missing.pem', keyFile: 'tls/missing.key', caFile: 'tls/missing-ca.pem', trustDomain: 'example.org' } } }, { use: 'transport-grpc', options: { listen: [{ host: '0.0.0.0', port: 0 }] } }]`,
      ),
    );
    const lines = await bothRefuse(dir);
    expect(lines).toEqual([
      expect.stringMatching(/plugin "auth-standard" at \/plugins\/2\/options\/mtls\/certFile: cannot read "tls\/missing.pem"/),
      expect.stringMatching(/plugin "auth-standard" at \/plugins\/2\/options\/mtls\/keyFile: cannot read "tls\/missing.key"/),
      expect.stringMatching(/plugin "auth-standard" at \/plugins\/2\/options\/mtls\/caFile: cannot read "tls\/missing-ca.pem"/),
    ]);
  }, 60_000);

  test('one address listed twice', async () => {
    const { dir } = project(
      configWith(
        `[${BASE}, 'auth-standard', { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 24201 }, { host: '127.0.0.1', port: 24201 }, { socket: 'a.sock' }, { socket: './a.sock' }] } }]`,
      ),
    );
    const lines = await bothRefuse(dir);
    expect(lines).toEqual([
      expect.stringMatching(/at \/plugins\/3\/options\/listen\/1: 127\.0\.0\.1:24201 is already listed at \/listen\/0/),
      expect.stringMatching(/at \/plugins\/3\/options\/listen\/3\/socket: ".*\/data\/a\.sock" is already listed at \/listen\/2/),
    ]);
  }, 60_000);

  test('one bad value is one line: a port out of range, a misspelt plugin', async () => {
    const badPort = project(
      configWith(`[${BASE}, 'auth-standard', { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 99999 }] } }]`),
    );
    expect(await bothRefuse(badPort.dir)).toEqual([
      expect.stringMatching(
        /GW_PLUGIN_OPTIONS_INVALID .* at \/plugins\/3\/options\/listen\/0\/port: expected a value that must be <= 65535 \(got 99999\)$/,
      ),
    ]);
    const misspelt = project(configWith(`['registry-memory', 'router-embeded', 'auth-standard', 'transport-grpc', 'monitor-prometheus']`));
    expect(await bothRefuse(misspelt.dir)).toEqual([
      expect.stringMatching(/GW_PLUGIN_NOT_FOUND .* plugin "router-embeded" at \/plugins\/1: cannot find plugin/),
    ]);
  }, 90_000);
});
