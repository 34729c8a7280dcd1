/**
 * The package works outside this repository, as npm users get it. A copy of the checkout is
 * packed (its `prepack` builds it), the tarball and an example plugin package are installed into
 * a fresh project, and `npx openclaw-gateway start` runs a `gateway.config.ts` that imports
 * `defineConfig`/`definePlugin` from `openclaw-gateway` and loads a local TypeScript plugin file and
 * the plugin package; a real gRPC client talks to it.
 *
 * Errors keep their codes across package copies: npm nests a second copy of openclaw-gateway in a
 * plugin package whenever versions differ. The plugin package gets such a nested copy of the built
 * package, and its GatewayError must still reach the gRPC client with its code.
 *
 * And every config under examples/configs/ starts from the built checkout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { startGateway, type Gateway } from '../../index';
import { connect, GatewayClientError, type Agent } from '../../sdk';
import { collect, waitForOutput, type CliResult } from '../helpers/cli';
import { checkoutCopy, installProject, npmPack, outsiderEnv, tarballFiles } from '../helpers/packed-package';
import { tempDir } from '../helpers/temp-dir';
import { eventually } from './package-project';
import { natsEnv, type NatsEnv } from '../cluster/nats-env';

const PLUGIN_PACKAGE = '@openclaw-examples/router-priority';
const SETUP_TIMEOUT_MS = 600_000;

let checkout: string;
let tarball: string;
let project: string;
const children: ChildProcess[] = [];
const agents: Agent[] = [];

function spawnIn(
  cwd: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  // Its own process group, signalled as a whole the way a terminal's Ctrl-C reaches npx and the
  // gateway it runs.
  const child = spawn(command, args, { cwd, env: outsiderEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  return { child, done: collect(child) };
}

/** Starts, waits for "listening on", returns the TCP address and a stop that asserts a clean exit. */
async function startAndListen(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const { child, done } = spawnIn(cwd, command, args, env);
  const output = await waitForOutput(child, /listening on [^\n]*\d+\.\d+\.\d+\.\d+:\d+/, 120_000).catch(async (error: Error) => {
    signalGroup(child, 'SIGKILL');
    const result = await done;
    throw new Error(`${error.message}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  });
  const address = /listening on [^\n]*?(\d+\.\d+\.\d+\.\d+:\d+)/.exec(output)![1];
  return {
    address,
    output: () => output,
    async stop(): Promise<CliResult> {
      signalGroup(child, 'SIGTERM');
      const result = await done;
      // npx itself dies of the signal (it does not handle it); the gateway drains and exits.
      if (command === 'npx') expect(result.code === 0 || result.signal === 'SIGTERM').toBe(true);
      else expect(result).toMatchObject({ code: 0, signal: null });
      expect(result.stdout).toContain('gateway stopped');
      await eventually(() => !groupAlive(child), 30_000, 'every process of the group to exit');
      return result;
    },
  };
}

const LOCAL_PLUGIN = `import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { definePlugin } from 'openclaw-gateway';

interface GreeterOptions {
  greeting: string;
}

/** A local plugin file, in TypeScript: writes a file when the gateway is ready. */
export default definePlugin<GreeterOptions>({
  name: 'greeter',
  kind: 'monitor',
  version: '1.0.0',
  schema: { type: 'object', additionalProperties: false, properties: { greeting: { type: 'string', default: 'hello' } } },
  setup(ctx) {
    ctx.hooks.ready.tap(ctx.name, () => {
      writeFileSync(path.join(ctx.gateway.configDir, 'greeting.txt'), \`\${ctx.options.greeting} from \${ctx.gateway.id}\`);
    });
    return {};
  },
});
`;

const CONFIG = `import { defineConfig } from 'openclaw-gateway';

export default defineConfig({
  gateway: { id: 'my-gw', dataDir: './data', drainTimeoutMs: 2000, processMetrics: false, logFormat: 'json' },
  plugins: [
    'registry-memory',
    { use: '${PLUGIN_PACKAGE}', options: { lanes: [{ pattern: 'alerts.>', priority: 'high' }] } },
    'auth-standard',
    { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
    { use: './plugins/greeter', options: { greeting: 'hi' } },
  ],
});
`;

beforeAll(async () => {
  checkout = checkoutCopy();
  const tarballs = tempDir('ocgw-tarballs-');
  tarball = await npmPack(checkout, tarballs);
  const pluginTarball = await npmPack(path.join(checkout, 'examples', 'router-priority'), tarballs);
  project = await installProject([tarball, pluginTarball]);
  fs.mkdirSync(path.join(project, 'plugins'));
  fs.writeFileSync(path.join(project, 'plugins', 'greeter.ts'), LOCAL_PLUGIN);
  fs.writeFileSync(path.join(project, 'gateway.config.ts'), CONFIG);
}, SETUP_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
  for (const child of children.splice(0)) signalGroup(child, 'SIGKILL');
});

function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group is gone already
  }
}

/** A priority header the router-priority plugin refuses with a GatewayError made by its copy of the package. */
async function expectRefusedWithCode(address: string): Promise<void> {
  const agent = connect(address);
  agents.push(agent);
  expect((await agent.publish('alerts.disk', 'fine')).receivers).toBe(0);
  const error = (await agent
    .publish('alerts.disk', 'x', { headers: { 'x-priority': 'urgent' } })
    .catch((e: unknown) => e)) as GatewayClientError;
  expect(error).toBeInstanceOf(GatewayClientError);
  expect(error.code).toBe('GW_INVALID_ARGUMENT');
  expect(error.status).toBe(3);
  expect(error.message).toContain('message.headers.x-priority');
}

describe('the packed package', () => {
  test('ships its compiled code, the launcher and the proto files, and no sources or tests', async () => {
    const files = await tarballFiles(tarball);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/openclaw-gateway.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/kernel/index.js',
        'dist/support/nats/nats-connection.js',
        'dist/bin/cli.js',
        'dist/plugins/index.js',
        'dist/config/default.config.js',
        'proto/openclaw/gateway/v1/gateway.proto',
      ]),
    );
    expect(
      files.filter((file) => /^(kernel|plugins|sdk|test|bench)\//.test(file) || (/\.ts$/.test(file) && !file.endsWith('.d.ts'))),
    ).toEqual([]);
  });

  test('npx openclaw-gateway start runs a gateway.config.ts with a local TypeScript plugin and a plugin package', async () => {
    const validate = spawnIn(project, 'npx', ['--no-install', 'openclaw-gateway', 'validate']);
    const timer = setTimeout(() => signalGroup(validate.child, 'SIGKILL'), 60_000);
    const validated = await validate.done.finally(() => clearTimeout(timer));
    expect(validated.stderr).toBe('');
    expect(validated.stdout).toContain(`config OK: ${path.join(project, 'gateway.config.ts')}`);
    expect(validated.stdout).toMatch(new RegExp(`router-priority +router +1\\.0\\.0 +npm:${PLUGIN_PACKAGE}`));
    expect(validated.stdout).toMatch(/greeter +monitor +1\.0\.0 +file:.*plugins\/greeter/);

    const gateway = await startAndListen(project, 'npx', ['--no-install', 'openclaw-gateway', 'start']);
    await expectRefusedWithCode(gateway.address);
    expect(fs.readFileSync(path.join(project, 'greeting.txt'), 'utf8')).toBe('hi from my-gw');
    const result = await gateway.stop();
    expect(result.stdout).toContain('gateway stopped');
  }, 180_000);

  describe('with a second copy of openclaw-gateway nested in the plugin package', () => {
    let nested: string;
    beforeAll(() => {
      // What npm does when the plugin's range and the top-level version differ: its own copy.
      const pluginDir = path.join(project, 'node_modules', ...PLUGIN_PACKAGE.split('/'));
      nested = path.join(pluginDir, 'node_modules', 'openclaw-gateway');
      fs.cpSync(path.join(project, 'node_modules', 'openclaw-gateway'), nested, { recursive: true });
      const manifest = JSON.parse(fs.readFileSync(path.join(nested, 'package.json'), 'utf8')) as { version: string };
      fs.writeFileSync(path.join(nested, 'package.json'), JSON.stringify({ ...manifest, version: '0.0.9-nested' }));
      expect(require.resolve('openclaw-gateway', { paths: [pluginDir] })).toBe(path.join(nested, 'dist', 'index.js'));
    });

    test('a GatewayError from the nested copy reaches a gRPC client with its code (gateway from this source tree)', async () => {
      let gateway: Gateway | undefined;
      try {
        gateway = await startGateway({
          cwd: project,
          logLevel: 'silent',
          config: {
            gateway: { dataDir: path.join(project, 'data-in-process'), processMetrics: false, drainTimeoutMs: 2000 },
            plugins: [
              'registry-memory',
              { use: PLUGIN_PACKAGE, options: {} },
              'auth-standard',
              { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
            ],
          },
        });
        const address = gateway
          .transports()[0]
          .addresses()
          .find((a) => !a.startsWith('unix:'))!;
        await expectRefusedWithCode(address);
      } finally {
        await Promise.all(agents.splice(0).map((agent) => agent.close()));
        await gateway?.stop();
      }
    }, 60_000);

    test('and through the installed CLI, whose copy differs from the plugin’s', async () => {
      const gateway = await startAndListen(project, 'npx', ['--no-install', 'openclaw-gateway', 'start']);
      await expectRefusedWithCode(gateway.address);
      await gateway.stop();
    }, 120_000);
  });
});

describe('every example config starts from a built checkout', () => {
  const launcher = () => path.join(checkout, 'bin', 'openclaw-gateway.js');

  test('the checkout was built by prepack', () => {
    expect(fs.existsSync(path.join(checkout, 'dist', 'kernel', 'index.js'))).toBe(true);
  });

  test('minimal.config.ts', async () => {
    const gateway = await startAndListen(checkout, process.execPath, [launcher(), 'start', '-c', 'examples/configs/minimal.config.ts'], {
      OPENCLAW_GRPC_PORT: '0',
    });
    await gateway.stop();
  }, 120_000);

  test('cluster.config.ts (NATS JetStream)', async () => {
    let nats: NatsEnv | undefined;
    try {
      nats = await natsEnv();
      const gateway = await startAndListen(checkout, process.execPath, [launcher(), 'start', '-c', 'examples/configs/cluster.config.ts'], {
        OPENCLAW_NATS: nats.url,
        OPENCLAW_NATS_PREFIX: nats.prefix,
        OPENCLAW_GRPC_PORT: '0',
        OPENCLAW_MONITOR_PORT: '0',
        OPENCLAW_DATA_DIR: tempDir('ocgw-example-data-'),
        OPENCLAW_GATEWAY_ID: `gw-${nats.prefix}`,
      });
      await gateway.stop();
    } finally {
      await nats?.close();
    }
  }, 120_000);

  test('production.config.ts validates (it starts only with its certificates, policy and agents in place)', async () => {
    const etc = tempDir('ocgw-etc-');
    fs.mkdirSync(path.join(etc, 'tls'));
    for (const file of ['server.pem', 'server.key', 'ca.pem']) fs.writeFileSync(path.join(etc, 'tls', file), 'placeholder\n');
    const result = await spawnIn(checkout, process.execPath, [launcher(), 'validate', '-c', 'examples/configs/production.config.ts'], {
      OPENCLAW_ETC: etc,
      OPENCLAW_SOCKET: path.join(etc, 'gateway.sock'),
    }).done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('config OK');
  }, 60_000);
});
