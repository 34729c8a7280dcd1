/**
 * The example configs in examples/configs are validated by the kernel's `validateConfig`: every
 * plugin resolves, every option matches its plugin's schema, the required kinds are present and
 * dependencies are satisfied. Jest cannot run cosmiconfig's TS loader (it needs a dynamic import),
 * so the module is required here and handed over as a config with its folder as `cwd`; the CLI's
 * `validate -c <file>` then proves the file itself loads the way an operator runs it.
 */
import path from 'node:path';
import { validateConfig, type GatewayConfig, type ValidatedConfig } from '../../index';
import { runCli } from '../helpers/cli';
import { repoRoot } from './package-project';

const configsDir = path.join(repoRoot, 'examples', 'configs');

async function validateExample(name: string): Promise<ValidatedConfig> {
  const config = (require(path.join(configsDir, name)) as { default: GatewayConfig }).default;
  return validateConfig({ config, cwd: configsDir });
}

async function validateWithCli(name: string): Promise<void> {
  const result = await runCli(['validate', '-c', path.join('examples', 'configs', name)], { cwd: repoRoot });
  if (result.code !== 0) throw new Error(`validate -c ${name} failed:\n${result.stdout}${result.stderr}`);
  expect(result.stdout).toContain(`config OK: ${path.join(configsDir, name)}`);
}

function kinds(config: ValidatedConfig): Record<string, string> {
  return Object.fromEntries(config.plugins.map((plugin) => [plugin.definition.kind, plugin.name]));
}

function optionsOf(config: ValidatedConfig, name: string): Record<string, any> {
  return config.plugins.find((plugin) => plugin.name === name)!.rawOptions as Record<string, any>;
}

describe('example configs', () => {
  test('minimal.config.ts: the four required kinds, in-process', async () => {
    const config = await validateExample('minimal.config.ts');
    expect(kinds(config)).toEqual({ registry: 'registry-memory', router: 'router-embedded', auth: 'auth-standard', transport: 'transport-grpc' });
    // Defaults from the plugins' schemas are applied.
    expect(optionsOf(config, 'router-embedded').durable.maxAttempts).toBe(5);
    await validateWithCli('minimal.config.ts');
  }, 60_000);

  test('production.config.ts: mTLS, RBAC policy file, durable router, supervised agents in bubblewrap', async () => {
    const config = await validateExample('production.config.ts');
    expect(kinds(config)).toMatchObject({
      registry: 'registry-memory',
      router: 'router-embedded',
      auth: 'auth-standard',
      transport: 'transport-grpc',
      sandbox: 'sandbox-bubblewrap',
      supervisor: 'supervisor',
      monitor: 'monitor-prometheus',
    });
    const managed = optionsOf(config, 'supervisor').agents[0];
    expect(managed).toMatchObject({ id: 'summarizer', replicas: 3, sandbox: { network: false } });
    const auth = optionsOf(config, 'auth-standard');
    expect(auth.mtls).toMatchObject({ requireClientCert: true, identityMode: 'spiffe', trustDomain: 'example.org' });
    expect(auth.policyFile).toBe('/etc/openclaw/policy.json');
    expect(optionsOf(config, 'router-embedded').durable).toMatchObject({ ackTimeoutMs: 30_000, maxAttempts: 8 });
    expect(config.settings.drainTimeoutMs).toBe(30_000);
    await validateWithCli('production.config.ts');
  }, 60_000);

  test('cluster.config.ts: registry and router on NATS JetStream', async () => {
    const config = await validateExample('cluster.config.ts');
    expect(kinds(config)).toMatchObject({ registry: 'registry-nats', router: 'router-nats', auth: 'auth-standard', transport: 'transport-grpc' });
    expect(optionsOf(config, 'registry-nats').servers).toEqual(['nats://127.0.0.1:4222']);
    expect(optionsOf(config, 'router-nats').durable.replicas).toBe(1);
    await validateWithCli('cluster.config.ts');
  }, 60_000);

  test('a mistake in an example-shaped config is reported with its path', async () => {
    const error = await validateConfig({
      cwd: repoRoot,
      config: {
        plugins: [
          'registry-memory',
          { use: 'router-embedded', options: { durable: { maxAttempts: 'five' } } },
          'auth-standard',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 7400 }] } },
        ],
      },
    }).then(
      () => ({ code: 'none', message: 'validated' }),
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error.code).toBe('GW_CONFIG_INVALID');
    expect(error.message).toContain('/plugins/1/options/durable/maxAttempts');
  });
});
