/**
 * `publish`, `send`, `request` and `subscribe`: the real CLI process against a real gateway, with
 * SDK agents on the other end; then the same commands with `--ca` and `--token` against a gateway
 * on TLS with JWT auth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT, type KeyLike } from 'jose';
import { writeJwks } from '../auth/jwks';
import { connect, type Agent } from '../../sdk';
import { startGateway, type Gateway } from '../../index';
import { createCa } from '../auth/pki';
import { tempDir } from '../auth/harness';
import { CLI, collect, runCli, spawnCli, waitForOutput } from '../helpers/cli';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { eventually, nextItem } from '../examples/package-project';

/** Everything a child printed on stdout so far (listening from the start, so nothing is missed). */
function stdoutOf(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return () => out;
}

describe('CLI messaging commands against a running gateway', () => {
  let gw: TestGateway;
  const agents: Agent[] = [];
  const open = (): Agent => {
    const agent = connect(gw.address);
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await gw?.stop();
  });

  test('publish delivers to topic subscribers, with headers, and prints the result', async () => {
    const listener = await open().subscribe('cli.orders.*');
    const result = await runCli([
      'publish',
      'cli.orders.created',
      '{"n":1}',
      '--target',
      gw.address,
      '-H',
      'traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '--content-type',
      'application/json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^published to cli\.orders\.created: id \S+ receivers 1\n$/);
    const delivery = await nextItem(listener);
    expect(delivery.text()).toBe('{"n":1}');
    expect(delivery.message.contentType).toBe('application/json');
    expect(delivery.message.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  test('publish reads the payload from stdin with -', async () => {
    const listener = await open().subscribe('cli.stdin');
    const child = spawn(process.execPath, [CLI, 'publish', 'cli.stdin', '-', '--target', `unix:${gw.socketPath}`, '--json'], {
      env: { ...process.env, OPENCLAW_FROM_SOURCE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const done = collect(child);
    child.stdin?.end('from a pipe\n');
    const result = await done;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ receivers: 1 });
    expect((await nextItem(listener)).text()).toBe('from a pipe\n');
  });

  test('send reaches an agent by id and a service instance, durably when asked', async () => {
    const worker = open();
    await worker.register({ agentId: 'cli-worker-1', service: 'cli-worker', version: '1.0.0' });
    const inbox = await worker.subscribe();

    const byId = await runCli(['send', 'hello agent', '--agent', 'cli-worker-1', '--target', gw.address]);
    expect(byId.stderr).toBe('');
    expect(byId.stdout).toMatch(/^sent to agent cli-worker-1: id \S+ receivers 1\n$/);
    expect((await nextItem(inbox)).text()).toBe('hello agent');

    const byService = await runCli([
      'send',
      'hello service',
      '--service',
      'cli-worker',
      '--version-range',
      '^1.0.0',
      '--durable',
      '--id',
      'cli-durable-1',
      '--target',
      gw.address,
    ]);
    expect(byService.code).toBe(0);
    expect(byService.stdout).toBe('sent to service cli-worker: id cli-durable-1 receivers 1 (stored)\n');
    const durable = await nextItem(inbox);
    expect(durable.text()).toBe('hello service');
    expect(durable.message.durable).toBe(true);
    await durable.ack();
  });

  test('request prints the reply, and exits 1 with the reason when nobody answers', async () => {
    const echo = open();
    await echo.register({ agentId: 'cli-echo-1', service: 'cli-echo', version: '1.0.0' });
    void (async () => {
      for await (const delivery of await echo.subscribe()) if (delivery.isRequest) await delivery.reply(`echo:${delivery.text()}`);
    })().catch(() => undefined);

    const reply = await runCli(['request', 'ping', '--service', 'cli-echo', '--target', gw.address]);
    expect(reply.stderr).toBe('');
    expect(reply.code).toBe(0);
    expect(reply.stdout).toBe('echo:ping\n');

    const json = await runCli(['request', 'again', '--agent', 'cli-echo-1', '--target', gw.address, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ payload: 'echo:again', senderId: 'cli-echo-1' });

    const nobody = await runCli(['request', 'hi', '--service', 'cli-nobody', '--target', gw.address]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/^error: Request failed: NOT_FOUND GW_NOT_FOUND: .*cli-nobody/);
  });

  test('send and request refuse a missing or double destination before calling', async () => {
    const none = await runCli(['send', 'x', '--target', gw.address]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('error: send: give exactly one of --agent <agentId> or --service <name>\n');
    const both = await runCli(['request', 'x', '--agent', 'a', '--service', 'b', '--target', gw.address]);
    expect(both.code).toBe(1);
    expect(both.stderr).toBe('error: request: give exactly one of --agent <agentId> or --service <name>\n');
    const header = await runCli(['publish', 't', 'x', '-H', 'no-equals', '--target', gw.address]);
    expect(header.stderr).toBe('error: --header no-equals: expected name=value\n');
  });

  test('subscribe prints messages until Ctrl-C, then exits 0', async () => {
    const child = spawnCli(['subscribe', 'cli.events.>', '--target', gw.address]);
    const printed = stdoutOf(child);
    const done = collect(child);
    try {
      await waitForOutput(child, /subscribed to cli\.events\.> \(Ctrl-C to stop\)/);
      const publisher = open();
      await publisher.publish('cli.events.a', 'first');
      await publisher.publish('cli.events.b.c', 'second');
      await publisher.publish('cli.other', 'not for it');
      await eventually(() => printed().includes('[#2] cli.events.b.c: second\n'), 20_000, `the second message; printed:\n${printed()}`);
      child.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('[#1] cli.events.a: first\n[#2] cli.events.b.c: second\n');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('subscribe --json --count 1 prints one JSON line and exits by itself', async () => {
    const child = spawnCli(['subscribe', 'cli.count', '--json', '--count', '1', '--target', gw.address]);
    const done = collect(child);
    await waitForOutput(child, /subscribed to cli\.count/);
    await open().publish('cli.count', 'only one', { headers: { k: 'v' } });
    const result = await done;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      topic: 'cli.count',
      payload: 'only one',
      headers: { k: 'v' },
      subscription: 'cli.count',
    });
  });

  test('subscribe --registry-events prints agents coming and going', async () => {
    const child = spawnCli(['subscribe', '--registry-events', '--target', gw.address]);
    const printed = stdoutOf(child);
    const done = collect(child);
    await waitForOutput(child, /subscribed to registry events/);
    const visitor = connect(gw.address);
    await visitor.register({ agentId: 'cli-visitor', service: 'cli-visit', version: '3.1.0' });
    await visitor.close();
    const visits = () =>
      printed()
        .split('\n')
        .filter((line) => line.includes(' cli-visitor '));
    await eventually(() => visits().length >= 2, 20_000, `both registry events; printed:\n${printed()}`);
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
    expect(visits()[0]).toMatch(/^\[#\d+\] registry up cli-visitor \(cli-visit 3\.1\.0\): registered$/);
    expect(visits()[1]).toMatch(/^\[#\d+\] registry down cli-visitor \(cli-visit 3\.1\.0\)/);

    const nothing = await runCli(['subscribe', '--target', gw.address]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toBe('error: subscribe: give at least one topic pattern, or --registry-events\n');
  });

  test('subscribe exits 1 with the reason when the gateway goes away', async () => {
    const other = await startTestGateway();
    const child = spawnCli(['subscribe', 'cli.gone', '--target', other.address]);
    const done = collect(child);
    try {
      await waitForOutput(child, /subscribed to cli\.gone/);
      await other.stop();
      const result = await done;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/error: (Subscribe failed: \S+|the gateway ended the subscription)/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await other.stop().catch(() => undefined);
    }
  });

  test('an unreachable gateway fails within --timeout with a hint', async () => {
    const published = await runCli(['publish', 't', 'x', '--target', 'unix:/nonexistent/gw.sock', '--timeout', '2000']);
    expect(published.code).toBe(1);
    expect(published.stderr).toMatch(
      /^error: SendMessage failed: (UNAVAILABLE: cannot reach a gateway at unix:\/nonexistent\/gw\.sock|DEADLINE_EXCEEDED)/,
    );
    const subscribed = await runCli(['subscribe', 't', '--target', 'unix:/nonexistent/gw.sock', '--timeout', '2000']);
    expect(subscribed.code).toBe(1);
    expect(subscribed.stderr).toMatch(/^error: Subscribe failed: UNAVAILABLE: cannot reach a gateway at unix:\/nonexistent\/gw\.sock/);
  });
});

describe('CLI messaging commands with --ca and --token', () => {
  let dir: string;
  let gateway: Gateway;
  let target: string;
  let caFile: string;
  let privateKey: KeyLike;
  const sign = (subject: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'cli' })
      .setSubject(subject)
      .setIssuer('https://idp.test')
      .setAudience('openclaw')
      .setExpirationTime(Math.floor(Date.now() / 1000) + 600)
      .sign(privateKey);

  beforeAll(async () => {
    dir = tempDir('cli-messaging-tls-');
    const ca = createCa(dir, 'ca');
    caFile = ca.certFile;
    const server = ca.issue('server', {
      altNames: [
        ['DNS', 'localhost'],
        ['IP', '127.0.0.1'],
      ],
      serverAuth: true,
    });
    privateKey = await writeJwks(dir, 'ES256', 'cli');
    gateway = await startGateway({
      logLevel: 'silent',
      cwd: dir,
      config: {
        gateway: { dataDir: path.join(dir, 'data'), processMetrics: false },
        plugins: [
          'registry-memory',
          'router-embedded',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          {
            use: 'auth-standard',
            options: {
              mtls: {
                certFile: server.certFile,
                keyFile: server.keyFile,
                caFile: ca.certFile,
                trustDomain: 'example.org',
                requireClientCert: false,
              },
              jwt: { jwksFile: 'jwks.json', issuer: 'https://idp.test', audience: 'openclaw', algorithms: ['ES256'] },
            },
          },
        ],
      },
    });
    target = gateway.transports()[0].addresses()[0]!;
  });

  afterAll(async () => {
    await gateway?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('subscribe and publish over TLS with a bearer token; without the token the gateway says why', async () => {
    const token = await sign('cli-user');
    const child = spawnCli(['subscribe', 'secure.>', '--count', '1', '--target', target, '--ca', caFile, '--token', token]);
    const done = collect(child);
    await waitForOutput(child, /subscribed to secure\.>/);
    const published = await runCli(['publish', 'secure.news', 'over tls', '--target', target, '--ca', caFile], {
      env: { OPENCLAW_TOKEN: token },
    });
    expect(published.stderr).toBe('');
    expect(published.stdout).toMatch(/^published to secure\.news: id \S+ receivers 1\n$/);
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('[#1] secure.news: over tls\n');

    const anonymous = await runCli(['publish', 'secure.news', 'x', '--target', target, '--ca', caFile]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^error: SendMessage failed: UNAUTHENTICATED GW_UNAUTHENTICATED: /);
  });
});
