import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/temp-dir';
import { ConfigError, GatewayError, startGateway, validateConfig, type ConfigIssue } from '../../kernel';
import { recordingPlugin, requiredSet, type Journal } from './recording-plugins';

async function issuesOf(promise: Promise<unknown>): Promise<ConfigIssue[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return [...(error as ConfigError).issues];
}

const strictSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    mode: { enum: ['fast', 'safe'], default: 'safe' },
  },
};

describe('config validation', () => {
  test('every class of error is reported at once, each with file, plugin, JSON path and expectation', async () => {
    const journal: Journal = [];
    const [transport, router, auth, registry] = requiredSet(journal);
    const issues = await issuesOf(
      validateConfig({
        config: {
          gateway: { drainTimeoutMs: -5 },
          plugins: [
            { use: 'no-such-plugin-anywhere' },
            { use: { ...registry, schema: strictSchema }, options: { port: 70000, mode: 'turbo', colour: 'blue' } },
            recordingPlugin(journal, { kind: 'registry', name: 'second-registry' }),
            { use: { ...router, kind: 'teleporter' as never } },
            transport,
            auth,
          ],
        },
      }),
    );
    const byCode = (code: string) => issues.filter((issue) => issue.code === code);

    expect(byCode('GW_CONFIG_INVALID')).toEqual([
      expect.objectContaining({ file: '<inline>', path: '/gateway/drainTimeoutMs', message: expect.stringContaining('>= 0') }),
    ]);
    expect(byCode('GW_PLUGIN_NOT_FOUND')).toEqual([
      expect.objectContaining({
        plugin: 'no-such-plugin-anywhere',
        path: '/plugins/0/use',
        message: expect.stringContaining('cannot find plugin'),
      }),
    ]);
    expect(byCode('GW_PLUGIN_KIND_UNKNOWN')).toEqual([
      expect.objectContaining({ plugin: 'router-x', path: '/plugins/3/use', message: expect.stringContaining('"teleporter"') }),
    ]);
    expect(byCode('GW_PLUGIN_KIND_DUPLICATE')).toEqual([
      expect.objectContaining({ plugin: 'second-registry', path: '/plugins/2', message: expect.stringContaining('"registry-x"') }),
    ]);
    const optionIssues = byCode('GW_PLUGIN_OPTIONS_INVALID');
    expect(optionIssues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          plugin: 'registry-x',
          path: '/plugins/1/options/port',
          message: 'expected a value that must be <= 65535 (got 70000)',
        }),
        expect.objectContaining({
          plugin: 'registry-x',
          path: '/plugins/1/options/mode',
          message: 'must be one of "fast", "safe" (got "turbo")',
        }),
        expect.objectContaining({
          plugin: 'registry-x',
          path: '/plugins/1/options/colour',
          message: 'unknown property (not allowed by the schema)',
        }),
      ]),
    );
    // transport depends on the router kind, whose only candidate failed: that error is the one to
    // fix, so "depends on a router, none configured" would only repeat it.
    expect(byCode('GW_PLUGIN_DEPENDENCY_MISSING')).toEqual([]);
  });

  test('a missing required kind is named', async () => {
    const journal: Journal = [];
    const withoutAuth = requiredSet(journal).filter((plugin) => plugin.kind !== 'auth');
    const issues = await issuesOf(validateConfig({ config: { plugins: withoutAuth.map((p) => ({ ...p, dependencies: [] })) } }));
    expect(issues).toEqual([
      expect.objectContaining({ code: 'GW_PLUGIN_KIND_MISSING', path: '/plugins', message: expect.stringContaining('"auth"') }),
    ]);
  });

  test('dependency cycles are rejected with the cycle spelled out', async () => {
    const journal: Journal = [];
    const plugins = requiredSet(journal, {
      registry: { dependencies: [{ kind: 'auth' }] },
      auth: { dependencies: [{ kind: 'transport' }] },
    });
    const issues = await issuesOf(validateConfig({ config: { plugins } }));
    expect(issues).toHaveLength(1);
    expect(issues[0].code).toBe('GW_PLUGIN_DEPENDENCY_CYCLE');
    expect(issues[0].message).toMatch(/dependency cycle: .*transport-x \(transport\).*->.*transport-x \(transport\)/);
  });

  test('a plugin depending on an unconfigured kind is rejected; an optional one is not', async () => {
    const journal: Journal = [];
    const needsSandbox = recordingPlugin(journal, { kind: 'supervisor', name: 'sup', dependencies: [{ kind: 'sandbox' }] });
    const issues = await issuesOf(validateConfig({ config: { plugins: [...requiredSet(journal), needsSandbox] } }));
    expect(issues).toEqual([expect.objectContaining({ code: 'GW_PLUGIN_DEPENDENCY_MISSING', plugin: 'sup', path: '/plugins/4' })]);

    const optional = recordingPlugin(journal, { kind: 'supervisor', name: 'sup', dependencies: [{ kind: 'sandbox', optional: true }] });
    await expect(validateConfig({ config: { plugins: [...requiredSet(journal), optional] } })).resolves.toBeDefined();
  });

  test('options get their schema defaults before setup', async () => {
    const journal: Journal = [];
    let seenOptions: unknown;
    const [transport, router, auth, registry] = requiredSet(journal);
    const gateway = await startGateway({
      logLevel: 'silent',
      config: {
        plugins: [
          transport,
          router,
          auth,
          {
            use: {
              ...registry,
              schema: strictSchema,
              setup: (ctx) => {
                seenOptions = ctx.options;
                return registry.setup(ctx);
              },
            },
            options: { port: 80 },
          },
        ],
      },
    });
    await gateway.stop();
    expect(seenOptions).toEqual({ port: 80, mode: 'safe' });
  });

  test('a missing config file is GW_CONFIG_NOT_FOUND', async () => {
    const empty = tempDir('ocg-empty-');
    const error = (await validateConfig({ cwd: empty }).catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('GW_CONFIG_NOT_FOUND');
    expect(error.message).toContain(empty);
  });
});

describe('third-party plugins', () => {
  function requiredKindModule(kind: string, dependencies: string[] = []): string {
    return `module.exports = { name: '${kind}-local', kind: '${kind}', version: '0.0.1', schema: { type: 'object' },
      dependencies: ${JSON.stringify(dependencies.map((k) => ({ kind: k })))},
      setup: () => ({ service: { addresses: () => [], unixSocketPath: () => undefined } }) };`;
  }

  test('a plugin published as its own package is loaded by package name, validated and run', async () => {
    const project = tempDir('ocg-thirdparty-');
    const scope = path.join(project, 'node_modules', '@acme');
    fs.mkdirSync(scope, { recursive: true });
    fs.symlinkSync(path.resolve(__dirname, '../fixtures/third-party-plugin'), path.join(scope, 'openclaw-audit-monitor'), 'dir');
    fs.mkdirSync(path.join(project, 'local'));
    for (const kind of ['registry', 'router', 'auth'])
      fs.writeFileSync(path.join(project, 'local', `${kind}.js`), requiredKindModule(kind));
    fs.writeFileSync(path.join(project, 'local', 'transport.js'), requiredKindModule('transport', ['registry', 'router']));
    const journalFile = path.join(project, 'journal.txt');
    fs.writeFileSync(
      path.join(project, 'gateway.config.js'),
      `module.exports = { gateway: { id: 'tp-1' }, plugins: [
        './local/transport.js', './local/registry.js', './local/router.js', './local/auth.js',
        { use: '@acme/openclaw-audit-monitor', options: { journalFile: ${JSON.stringify(journalFile)} } },
      ] };`,
    );

    const gateway = await startGateway({ cwd: project, logLevel: 'silent' });
    expect(gateway.plugins()).toEqual(
      expect.arrayContaining([
        { name: 'acme-audit-monitor', kind: 'monitor', version: '2.3.0', source: 'npm:@acme/openclaw-audit-monitor' },
      ]),
    );
    expect(gateway.plugins().find((p) => p.kind === 'registry')!.source).toBe(
      `file:${path.join(fs.realpathSync(project), 'local', 'registry.js')}`,
    );
    const metrics = await gateway.metrics.registry.getSingleMetricAsString('openclaw_acme_ready_total');
    expect(metrics).toContain('openclaw_acme_ready_total 1');
    await gateway.stop();
    expect(fs.readFileSync(journalFile, 'utf8')).toBe('acme:ready:tp-1\nacme:stopped\n');
  });

  test("a third-party plugin's options are validated against its own schema", async () => {
    const project = tempDir('ocg-thirdparty-bad-');
    fs.mkdirSync(path.join(project, 'node_modules', '@acme'), { recursive: true });
    fs.symlinkSync(
      path.resolve(__dirname, '../fixtures/third-party-plugin'),
      path.join(project, 'node_modules', '@acme', 'openclaw-audit-monitor'),
      'dir',
    );
    const journal: Journal = [];
    const issues = await issuesOf(
      validateConfig({
        cwd: project,
        config: { plugins: [...requiredSet(journal), { use: '@acme/openclaw-audit-monitor', options: { prefix: 7 } }] },
      }),
    );
    expect(issues).toEqual([
      expect.objectContaining({
        code: 'GW_PLUGIN_OPTIONS_INVALID',
        plugin: 'acme-audit-monitor',
        path: '/plugins/4/options/journalFile',
        message: 'is required',
      }),
      expect.objectContaining({
        code: 'GW_PLUGIN_OPTIONS_INVALID',
        plugin: 'acme-audit-monitor',
        path: '/plugins/4/options/prefix',
        message: 'expected string (got 7)',
      }),
    ]);
  });
});
