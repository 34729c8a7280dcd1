/**
 * Issue #17.2: no sending as someone else. Over real gRPC with JWT identities, a `sender_id` that
 * is not an agent registered by the caller's identity is refused PERMISSION_DENIED naming
 * `sender_id` on SendMessage, Request, PublishBatch (in place) and PublishStream (in place). In open
 * mode, an agent id reserved for a managed instance can be registered only by the process the
 * supervisor started for it (its per-launch OPENCLAW_INSTANCE_TOKEN), not by another local process
 * (here a Python grpcio client on the gateway's own Unix socket).
 */
import { status } from '@grpc/grpc-js';
import type { BatchResult, SendResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { MessageBatch } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { fixtureAgent, startSupervised, waitUntil, type SupervisedGateway } from '../supervisor/harness';
import { failure, runPython, startSecuredGateway, type SecuredGateway } from './harness';

describe('sender_id belongs to the caller', () => {
  let gw: SecuredGateway;
  beforeAll(async () => {
    gw = await startSecuredGateway();
    const alice = await gw.client('alice');
    await alice.call('registerAgent', { agentId: 'alice-1', service: 'alice-svc', version: '1.0.0' });
    const mallory = await gw.client('mallory');
    await mallory.call('registerAgent', { agentId: 'mallory-1', service: 'mallory-svc', version: '1.0.0' });
  }, 30_000);
  afterAll(() => gw?.close());

  test('SendMessage and Request as another identity’s agent, or an unknown one, are refused naming sender_id', async () => {
    const mallory = await gw.client('mallory');
    const spoofed = await failure(mallory.call('sendMessage', { topic: 'news', senderId: 'alice-1', payload: Buffer.from('x') }));
    expect(spoofed.code).toBe(status.PERMISSION_DENIED);
    expect(spoofed.details).toBe(
      'GW_PERMISSION_DENIED: message.sender_id: "mallory" may not send as "alice-1": that agent was registered by another identity',
    );
    const unknown = await failure(mallory.call('sendMessage', { topic: 'news', senderId: 'nobody-yet', payload: Buffer.from('x') }));
    expect(unknown.code).toBe(status.PERMISSION_DENIED);
    expect(unknown.details).toMatch(/message\.sender_id: "nobody-yet" is not a registered agent/);
    const request = await failure(mallory.call('request', { service: 'alice-svc', senderId: 'alice-1', payload: Buffer.from('x') }));
    expect(request.code).toBe(status.PERMISSION_DENIED);
    expect(request.details).toMatch(/message\.sender_id: "mallory" may not send as "alice-1"/);
    // Her own agent, or no sender at all, is fine.
    expect(
      (await mallory.call<SendResult>('sendMessage', { topic: 'news', senderId: 'mallory-1', payload: Buffer.from('x') })).errorCode,
    ).toBe(0);
    expect((await mallory.call<SendResult>('sendMessage', { topic: 'news', payload: Buffer.from('x') })).errorCode).toBe(0);
  });

  test('PublishBatch and PublishStream refuse the spoofed messages in place', async () => {
    const mallory = await gw.client('mallory');
    const messages = [
      { topic: 'news', senderId: 'mallory-1', payload: Buffer.from('own') },
      { topic: 'news', senderId: 'alice-1', payload: Buffer.from('spoofed') },
      { topic: 'news', payload: Buffer.from('anonymous') },
    ];
    const batch = await mallory.call<BatchResult>('publishBatch', { messages });
    expect(batch.results.map((result) => result.errorCode)).toEqual([0, status.PERMISSION_DENIED, 0]);
    expect(batch.results[1].errorMessage).toMatch(/messages\[1\]\.sender_id: "mallory" may not send as "alice-1"/);

    const stream = mallory.raw.publishStream(mallory.metadata);
    const results: BatchResult[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (result: BatchResult) => void results.push(result));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write(MessageBatch.fromPartial({ messages }));
    stream.end();
    await done;
    expect(results[0].results.map((result) => result.errorCode)).toEqual([0, status.PERMISSION_DENIED, 0]);
    expect(results[0].results[1].errorMessage).toMatch(/messages\[1\]\.sender_id/);
  });
});

describe('managed instance ids in open mode', () => {
  let sup: SupervisedGateway | undefined;
  afterEach(async () => {
    await sup?.stop();
    sup = undefined;
  });

  test('only the process the supervisor started may register its id; a local Python process is refused', async () => {
    sup = await startSupervised({ agents: [fixtureAgent('keeper', 'well', { replicas: 1 })] });
    const registry = sup.registry;
    await waitUntil(() => registry.get('keeper-1')?.state === 'running', 'keeper-1 runs', 20_000);
    const before = registry.get('keeper-1')!;
    expect(before.managed).toBe(true);

    const attempts = await runPython(
      `
out = {}
for target in ARGS["targets"]:
    stub = pb_grpc.GatewayServiceStub(grpc.insecure_channel(target))
    for agent_id, token in [("keeper-1", None), ("keeper-2", None), ("keeper-1", "guessed-token")]:
        md = [("x-openclaw-instance-token", token)] if token else None
        try:
            stub.RegisterAgent(pb.AgentInfo(agent_id=agent_id, service="keeper", version="9.9.9"), metadata=md, timeout=10)
            out[target + " " + agent_id + " " + str(token)] = "OK"
        except grpc.RpcError as error:
            out[target + " " + agent_id + " " + str(token)] = error.code().name + " " + error.details()
print(json.dumps(out))
`,
      { targets: [`unix:${sup.socketPath}`, sup.address] },
    );
    const values = Object.values<string>(attempts);
    expect(values).toHaveLength(6);
    for (const value of values) {
      expect(value).toMatch(
        /^PERMISSION_DENIED GW_PERMISSION_DENIED: agent\.agent_id: "keeper-[12]" is reserved for a managed instance of "keeper"/,
      );
    }
    // The managed registration is untouched: same record, still the supervisor's process.
    const after = registry.get('keeper-1')!;
    expect(after).toMatchObject({ managed: true, version: '1.0.0', state: 'running', registeredAt: before.registeredAt });
    // Ids outside the reserved range stay free for anyone.
    const free = await runPython(
      `
stub = pb_grpc.GatewayServiceStub(grpc.insecure_channel(ARGS["target"]))
print(json.dumps({"id": stub.RegisterAgent(pb.AgentInfo(agent_id="keeper-3", service="keeper", version="1.0.0"), timeout=10).agent_id}))
`,
      { target: `unix:${sup.socketPath}` },
    );
    expect(free).toEqual({ id: 'keeper-3' });
  }, 90_000);
});
