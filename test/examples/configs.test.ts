/**
 * The example configs in examples/configs are validated by the kernel's `validateConfig`, loaded
 * from their files the way the CLI loads them: every plugin resolves, every option matches its
 * plugin's schema, the required kinds are present and dependencies are satisfied. The CLI's
 * `validate -c <file>` then proves the file loads the way an operator runs it. (That they start
 * from a built, packed copy is shown by test/examples/installed-package.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { validateConfig, type ValidatedConfig } from '../../index';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp-dir';
import { repoRoot } from './package-project';

const configsDir = path.join(repoRoot, 'examples', 'configs');

async function validateExample(name: string): Promise<ValidatedConfig> {
  return validateConfig({ configFile: path.join(configsDir, name), cwd: configsDir });
}

async function validateWithCli(name: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const result = await runCli(['validate', '-c', path.join('examples', 'configs', name)], { cwd: repoRoot, env });
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
    expect(kinds(config)).toEqual({
      registry: 'registry-memory',
      router: 'router-embedded',
      auth: 'auth-standard',
      transport: 'transport-grpc',
    });
    // Defaults from the plugins' schemas are applied.
    expect(optionsOf(config, 'router-embedded').durable.maxAttempts).toBe(5);
    await validateWithCli('minimal.config.ts');
  }, 60_000);

  test('production.config.ts: mTLS, RBAC policy file, durable router, supervised agents in bubblewrap', async () => {
    // Its TLS files must be readable and its socket's folder must exist (validate checks both, as
    // start would): give it a folder of its own instead of /etc/openclaw and /run/openclaw.
    const etc = tempDir('ocgw-etc-');
    fs.mkdirSync(path.join(etc, 'tls'));
    for (const file of ['server.pem', 'server.key', 'ca.pem'])
      fs.writeFileSync(path.join(etc, 'tls', file), 'placeholder: validate only reads it\n');
    const env = { OPENCLAW_ETC: etc, OPENCLAW_SOCKET: path.join(etc, 'gateway.sock') };
    Object.assign(process.env, env);
    const config = await validateExample('production.config.ts').finally(() => {
      delete process.env.OPENCLAW_ETC;
      delete process.env.OPENCLAW_SOCKET;
    });
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
    expect(auth.policyFile).toBe(path.join(etc, 'policy.json'));
    expect(optionsOf(config, 'router-embedded').durable).toMatchObject({ ackTimeoutMs: 30_000, maxAttempts: 8 });
    expect(config.settings.drainTimeoutMs).toBe(30_000);
    await validateWithCli('production.config.ts', env);
  }, 60_000);

  test('cluster.config.ts: registry and router on NATS JetStream', async () => {
    const config = await validateExample('cluster.config.ts');
    expect(kinds(config)).toMatchObject({
      registry: 'registry-nats',
      router: 'router-nats',
      auth: 'auth-standard',
      transport: 'transport-grpc',
    });
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
