/**
 * The kernel knows no plugin: bare names resolve only from the catalogue its caller hands it. The
 * package entry (`index.ts`) and the CLI hand it the built-ins, so users see no difference.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, validateConfig as kernelValidateConfig, type ConfigIssue } from '../../kernel';
import { BUILTIN_PLUGINS, validateConfig } from '../../index';
import { recordingPlugin, requiredSet, type Journal } from './recording-plugins';

const repoRoot = path.resolve(__dirname, '../..');

async function issuesOf(promise: Promise<unknown>): Promise<ConfigIssue[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return [...(error as ConfigError).issues];
}

describe('plugin catalogue', () => {
  test('the kernel alone resolves no built-in name and says which names it was given', async () => {
    const journal: Journal = [];
    const [transport, , auth, registry] = requiredSet(journal);
    const issues = await issuesOf(kernelValidateConfig({ config: { plugins: [transport, 'router-embedded', auth, registry] } }));
    expect(issues.filter((issue) => issue.code === 'GW_PLUGIN_NOT_FOUND')).toEqual([
      expect.objectContaining({
        code: 'GW_PLUGIN_NOT_FOUND',
        plugin: 'router-embedded',
        path: '/plugins/1',
        message: expect.stringContaining('expected a built-in name (none)'),
      }),
    ]);
  });

  test('the kernel resolves bare names from the catalogue it is handed, lazily', async () => {
    const journal: Journal = [];
    const [transport, router, auth] = requiredSet(journal);
    let loads = 0;
    const catalogue = {
      'acme-registry': () => {
        loads += 1;
        return recordingPlugin(journal, { kind: 'registry', name: 'acme-registry' });
      },
      'never-used': () => {
        throw new Error('an unreferenced catalogue entry must not be loaded');
      },
    };
    const config = await kernelValidateConfig({ builtins: catalogue, config: { plugins: [transport, router, auth, 'acme-registry'] } });
    expect(config.plugins.find((p) => p.definition.kind === 'registry')).toMatchObject({
      name: 'acme-registry',
      source: 'builtin:acme-registry',
    });
    expect(loads).toBe(1);
  });

  test('the package entry hands the kernel the built-ins; `builtins` replaces them', async () => {
    const config = await validateConfig({ config: { plugins: ['registry-memory', 'router-embedded', 'auth-standard', 'transport-grpc'] } });
    expect(config.plugins.map((p) => p.source).sort()).toEqual([
      'builtin:auth-standard',
      'builtin:registry-memory',
      'builtin:router-embedded',
      'builtin:transport-grpc',
    ]);
    expect(Object.keys(BUILTIN_PLUGINS)).toEqual(
      expect.arrayContaining(['router-nats', 'registry-nats', 'supervisor', 'monitor-prometheus']),
    );

    const issues = await issuesOf(
      validateConfig({ builtins: {}, config: { plugins: ['registry-memory', 'router-embedded', 'auth-standard', 'transport-grpc'] } }),
    );
    expect(issues.map((issue) => issue.code)).toEqual([
      'GW_PLUGIN_NOT_FOUND',
      'GW_PLUGIN_NOT_FOUND',
      'GW_PLUGIN_NOT_FOUND',
      'GW_PLUGIN_NOT_FOUND',
    ]);
  });

  test('validating and starting a gateway through the kernel loads no file from plugins/', () => {
    // A fresh process, so nothing another test required is in the module cache.
    const script = `
      const { startGateway } = require('./kernel');
      const { requiredSet } = require('./test/kernel/recording-plugins');
      startGateway({ logLevel: 'silent', config: { plugins: requiredSet([]) } })
        .then((gateway) => gateway.stop())
        .then(() => {
          const loaded = Object.keys(require.cache).filter((file) => file.startsWith(${JSON.stringify(path.join(repoRoot, 'plugins') + path.sep)}));
          process.stdout.write(JSON.stringify(loaded));
        });`;
    const output = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(JSON.parse(output)).toEqual([]);
  });
});
