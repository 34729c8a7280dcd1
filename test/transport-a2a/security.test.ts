/**
 * transport-a2a under the real auth-standard plugin (JWT + RBAC from a policy file): every A2A
 * call is authenticated and authorized with the gRPC path's action and resource (`request` on
 * the agent id or service), tasks are scoped to the identity that created them, cards advertise
 * the bearer scheme, and the body and stream bounds hold.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, type KeyLike } from 'jose';
import { writeJwks } from '../auth/jwks';
import { TaskState } from '@a2a-js/sdk';
import { startGateway, type Gateway } from '../../index';
import { A2aTask, connect, type Agent } from '../../sdk';
import { asTask, client, eventually, send, userMessage } from './support';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'openclaw-gateway';

const POLICY = {
  version: 'a2a-1',
  identities: [{ id: 'worker', services: ['guarded', 'holder'] }, { id: 'caller' }, { id: 'peer' }, { id: 'snoop' }],
  rbac: {
    roles: {
      agent: [{ actions: ['register', 'subscribe', 'send', 'publish'], resources: ['>'] }],
      user: [{ actions: ['request'], resources: ['guarded', 'guarded-1', 'holder-1'] }],
      other: [{ actions: ['request'], resources: ['elsewhere'] }],
    },
    bindings: [
      { role: 'agent', identities: ['worker'] },
      { role: 'user', identities: ['caller', 'peer'] },
      { role: 'other', identities: ['snoop'] },
    ],
  },
};

describe('transport-a2a: authentication, RBAC and limits', () => {
  let dir: string;
  let gateway: Gateway;
  let a2aUrl: string;
  let privateKey: KeyLike;
  const agents: Agent[] = [];
  const refusals: Array<{ action?: string; resource?: string }> = [];

  const token = async (subject: string): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject(subject)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
  };
  const rpc = async (url: string, method: string, params: unknown, bearer?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'A2A-Version': '1.0' };
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as { result?: unknown; error?: { code: number; message: string } },
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'a2a-authz-'));
    privateKey = await writeJwks(dir, 'RS256', 'k1', { use: 'sig' });
    writeFileSync(path.join(dir, 'policy.json'), JSON.stringify(POLICY));
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
            use: 'transport-a2a',
            options: { host: '127.0.0.1', port: 0, maxBodyBytes: 4096, maxStreamsPerIdentity: 1, maxRequestsPerIdentity: 3 },
          },
          {
            use: 'auth-standard',
            options: { jwt: { jwksFile: 'jwks.json', issuer: ISSUER, audience: AUDIENCE }, policyFile: 'policy.json' },
          },
        ],
      },
    });
    gateway.hooks.authFailed.tap('a2a-security-test', (failure) => {
      if (failure.stage === 'authorize') refusals.push({ action: failure.action, resource: failure.resource });
    });
    a2aUrl = `http://${gateway.transports()[1].addresses()[0]}`;
    const grpcAddress = gateway.transports()[0].addresses()[0];
    const workerToken = await token('worker');

    const guarded = connect(grpcAddress, { token: workerToken });
    agents.push(guarded);
    await guarded.register({ agentId: 'guarded-1', service: 'guarded', version: '1.0.0' });
    void (async () => {
      for await (const delivery of await guarded.subscribe()) if (delivery.isRequest) await delivery.reply(`ok:${delivery.text()}`);
    })().catch(() => undefined); // ends when the handle closes at the end
    const holder = connect(grpcAddress, { token: workerToken });
    agents.push(holder);
    await holder.register({ agentId: 'holder-1', service: 'holder', version: '1.0.0', capabilities: ['a2a'] });
    void (async () => {
      for await (const delivery of await holder.subscribe()) await A2aTask.from(holder, delivery)?.working('held');
    })().catch(() => undefined); // ends when the handle closes at the end
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await gateway?.stop('test finished');
    rmSync(dir, { recursive: true, force: true });
  });

  test('without a token: 401 with WWW-Authenticate for cards and calls', async () => {
    const card = await fetch(`${a2aUrl}/agents/guarded-1/.well-known/agent-card.json`);
    expect(card.status).toBe(401);
    expect(card.headers.get('www-authenticate')).toBe('Bearer');
    const call = await rpc(`${a2aUrl}/agents/guarded-1/`, 'SendMessage', {
      message: { messageId: 'x', role: 'ROLE_USER', parts: [{ text: 'hi' }] },
    });
    expect(call.status).toBe(401);
    expect(call.body.error).toMatchObject({ code: -32066, message: expect.stringContaining('GW_UNAUTHENTICATED') });
    const forged = await rpc(`${a2aUrl}/agents/guarded-1/`, 'GetTask', { id: 'x' }, 'not-a-jwt');
    expect(forged.status).toBe(401);
  });

  test('the card advertises the bearer JWT scheme; an allowed caller gets the answer', async () => {
    const callerToken = await token('caller');
    const a2a = await client(`${a2aUrl}/agents/guarded-1/`, callerToken);
    const card = await a2a.getAgentCard();
    expect(card.securitySchemes.bearer?.scheme).toEqual({
      $case: 'httpAuthSecurityScheme',
      value: expect.objectContaining({ scheme: 'Bearer', bearerFormat: 'JWT' }),
    });
    const task = asTask(await a2a.sendMessage(send(userMessage('secret'))));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);

    // Another identity allowed on the same agent does not see the caller's task.
    const peer = await client(`${a2aUrl}/agents/guarded-1/`, await token('peer'));
    await expect(peer.getTask({ tenant: '', id: task.id, historyLength: undefined })).rejects.toThrow(/not found/i);
    const mine = await a2a.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined });
    expect(mine.tasks.map((entry) => entry.id)).toEqual([task.id]);
    const theirs = await peer.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined });
    expect(theirs.tasks).toEqual([]);
  });

  test('RBAC refuses every method for an identity without `request` on the target, as gRPC does', async () => {
    const snoop = await token('snoop');
    const url = `${a2aUrl}/agents/guarded-1/`;
    refusals.length = 0;
    for (const [method, params] of [
      ['SendMessage', { message: { messageId: 's1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } }],
      ['GetTask', { id: 'any' }],
      ['ListTasks', {}],
      ['CancelTask', { id: 'any' }],
      ['GetExtendedAgentCard', {}],
    ] as const) {
      const { body } = await rpc(url, method, params, snoop);
      expect(body.error).toMatchObject({ code: -32057, message: expect.stringContaining('GW_PERMISSION_DENIED') });
      expect(body.error!.message).toContain('may not request "guarded-1"');
    }
    const stream = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0', authorization: `Bearer ${snoop}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'SubscribeToTask', params: { id: 'any' } }),
    });
    expect(((await stream.json()) as { error: { code: number } }).error.code).toBe(-32057);
    expect(refusals).toContainEqual({ action: 'request', resource: 'guarded-1' });
    // The HTTP+JSON binding refuses with 403.
    const rest = await fetch(`${a2aUrl}/agents/guarded-1/rest/tasks/any`, {
      headers: { 'A2A-Version': '1.0', authorization: `Bearer ${snoop}` },
    });
    expect(rest.status).toBe(403);
    expect(((await rest.json()) as { error: { message: string } }).error.message).toContain('GW_PERMISSION_DENIED');
    // So does the gRPC binding, with the gRPC status.
    const { ClientFactory, ClientFactoryOptions } = await import('@a2a-js/sdk/client');
    const { GrpcTransportFactory } = await import('@a2a-js/sdk/client/grpc');
    const { credentials, Metadata } = await import('@grpc/grpc-js');
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${snoop}`);
    const card = (await (
      await fetch(`${url}.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0', authorization: `Bearer ${snoop}` } })
    ).json()) as never;
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new GrpcTransportFactory({ grpcChannelCredentials: credentials.createInsecure(), grpcCallOptions: {} })],
        preferredTransports: ['GRPC'],
      }),
    );
    const grpcClient = await factory.createFromAgentCard((await import('@a2a-js/sdk')).AgentCard.fromJSON(card));
    await expect(
      grpcClient.getTask({ tenant: '', id: 'any', historyLength: undefined }, { serviceParameters: { authorization: `Bearer ${snoop}` } }),
    ).rejects.toThrow(/GW_PERMISSION_DENIED/);
    await expect(grpcClient.getTask({ tenant: '', id: 'any', historyLength: undefined })).rejects.toThrow(
      /GW_UNAUTHENTICATED|UNAUTHENTICATED/,
    );
    // Adding remote agents is an admin action, as on the gRPC AdminService.
    const admin = await fetch(`${a2aUrl}/admin/remote-agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${snoop}` },
      body: JSON.stringify({ cardUrl: 'http://example.com/card.json', service: 'x' }),
    });
    expect(admin.status).toBe(403);
    expect(refusals).toContainEqual({ action: 'admin', resource: '*' });
    // The service URL is checked against the service name.
    const byService = await rpc(`${a2aUrl}/services/guarded/`, 'ListTasks', {}, snoop);
    expect(byService.body.error!.message).toContain('may not request "guarded"');
  });

  test('bounds: a body over maxBodyBytes is 413, a second SSE stream of one identity is refused', async () => {
    const callerToken = await token('caller');
    const big = await rpc(
      `${a2aUrl}/agents/guarded-1/`,
      'SendMessage',
      { message: { messageId: 'big', role: 'ROLE_USER', parts: [{ text: 'x'.repeat(8000) }] } },
      callerToken,
    );
    expect(big.status).toBe(413);
    expect(big.body.error!.message).toContain('maxBodyBytes');

    const a2a = await client(`${a2aUrl}/agents/holder-1/`, callerToken);
    const task = asTask(await a2a.sendMessage(send(userMessage('hold'), { returnImmediately: true })));
    const first = a2a.resubscribeTask({ tenant: '', id: task.id });
    const firstEvent = await first.next();
    expect(firstEvent.value?.payload?.$case).toBe('task');
    const second = await rpc(`${a2aUrl}/agents/holder-1/`, 'SubscribeToTask', { id: task.id }, callerToken);
    expect(second.body.error).toMatchObject({ code: -32058, message: expect.stringContaining('maxStreamsPerIdentity') });
    await a2a.cancelTask({ tenant: '', id: task.id, metadata: undefined });
    await first.return(undefined);
    await eventually(
      async () =>
        (await gateway.metrics.registry.getSingleMetricAsString('openclaw_a2a_limit_hits_total')).includes(
          'limit="maxStreamsPerIdentity"} 1',
        ) || undefined,
      5000,
      'the limit metric',
    );
  });

  test('bounds: calls in flight per identity beyond maxRequestsPerIdentity get HTTP 429; others are not affected', async () => {
    const callerToken = await token('caller');
    const aborts = [new AbortController(), new AbortController(), new AbortController()];
    const blocking = aborts.map((abort, index) =>
      fetch(`${a2aUrl}/agents/holder-1/`, {
        method: 'POST',
        signal: abort.signal,
        headers: { 'content-type': 'application/json', 'A2A-Version': '1.0', authorization: `Bearer ${callerToken}` },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: index,
          method: 'SendMessage',
          params: { message: { messageId: `held-${index}-${Date.now()}`, role: 'ROLE_USER', parts: [{ text: 'hold' }] } },
        }),
      }).catch(() => undefined),
    );
    try {
      const refused = await eventually(
        async () => {
          const attempt = await rpc(`${a2aUrl}/agents/guarded-1/`, 'ListTasks', {}, callerToken);
          return attempt.status === 429 ? attempt : undefined;
        },
        10_000,
        'the 4th call to be refused',
      );
      expect(refused.body.error).toMatchObject({ code: -32058, message: expect.stringContaining('maxRequestsPerIdentity') });
      expect(await gateway.metrics.registry.getSingleMetricAsString('openclaw_a2a_limit_hits_total')).toContain(
        'limit="maxRequestsPerIdentity"} 1',
      );
      // Another identity still gets through.
      const peer = await rpc(`${a2aUrl}/agents/guarded-1/`, 'ListTasks', {}, await token('peer'));
      expect(peer.status).toBe(200);
    } finally {
      for (const abort of aborts) abort.abort();
      await Promise.all(blocking);
    }
    // Disconnected calls are released.
    await eventually(
      async () => ((await rpc(`${a2aUrl}/agents/guarded-1/`, 'ListTasks', {}, callerToken)).status === 200 ? true : undefined),
      10_000,
      'the caller to be admitted again',
    );
  });
});
