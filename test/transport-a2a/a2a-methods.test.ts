/**
 * transport-a2a from outside: the official `@a2a-js/sdk` client (`ClientFactory.createFromUrl`)
 * against a real gateway, with TypeScript SDK agents behind it: a plain echo agent (no `a2a`
 * capability) and an `a2a` agent that streams task events with `A2aTask`.
 */
import { TaskState, type StreamResponse } from '@a2a-js/sdk';
import { A2aTask, connect, type Agent } from '../../sdk';
import { asTask, client, send, startA2aGateway, textOf, userMessage, type A2aGateway } from './support';

describe('transport-a2a methods with the official client', () => {
  let gw: A2aGateway;
  const agents: Agent[] = [];
  /** Requests the slow agent holds until the test releases them, by A2A task id. */
  const held = new Map<string, A2aTask>();
  const cancelled: string[] = [];

  beforeAll(async () => {
    gw = await startA2aGateway();
    const echo = connect(gw.address);
    agents.push(echo);
    await echo.register({ agentId: 'echo-1', service: 'echo', version: '1.2.0', capabilities: ['echo'], tags: { lang: 'ts' } });
    void (async () => {
      for await (const delivery of await echo.subscribe()) {
        if (delivery.isRequest) await delivery.reply(`echo:${delivery.text()}`, { contentType: 'text/plain' });
      }
    })().catch(() => undefined); // ends when the handle closes at the end

    const smart = connect(gw.address);
    agents.push(smart);
    await smart.register({
      agentId: 'smart-1',
      service: 'smart',
      version: '2.0.0',
      capabilities: ['a2a', 'plan'],
      profile: { description: 'plans things', skills: [{ id: 'plan', name: 'Planning', description: 'makes a plan', tags: ['planning'] }] },
    });
    void (async () => {
      for await (const delivery of await smart.subscribe()) {
        const task = A2aTask.from(smart, delivery);
        if (!task) continue;
        delivery.cancelled.addEventListener('abort', () => cancelled.push(task.taskId));
        if (task.text === 'hold') {
          held.set(task.taskId, task);
          await task.working('holding');
          continue;
        }
        if (task.text === 'ask') {
          await task.inputRequired('which year?');
          continue;
        }
        await task.working('step 1');
        await task.artifact({ name: 'plan', text: `plan for ${task.text}` });
        await task.complete('planned');
      }
    })().catch(() => undefined); // ends when the handle closes at the end
  }, 60_000);

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await gw?.stop();
  });

  test('agent and service cards come from the registry; a gone agent answers 404', async () => {
    const card = (await (
      await fetch(`${gw.a2aUrl}/agents/smart-1/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })
    ).json()) as any;
    expect(card).toMatchObject({ name: 'smart-1', description: 'plans things', version: '2.0.0', capabilities: { streaming: true } });
    expect(card.skills).toEqual([expect.objectContaining({ id: 'plan', name: 'Planning', tags: ['planning'] })]);
    expect(card.supportedInterfaces).toContainEqual(
      expect.objectContaining({ url: `${gw.a2aUrl}/agents/smart-1/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }),
    );

    const service = (await (
      await fetch(`${gw.a2aUrl}/services/echo/.well-known/agent-card.json?version=%5E1`, { headers: { 'A2A-Version': '1.0' } })
    ).json()) as any;
    expect(service).toMatchObject({ name: 'echo', version: '1.2.0' });
    expect(service.skills[0]).toMatchObject({ id: 'echo', tags: ['lang:ts'] });
    expect(service.supportedInterfaces[0].url).toBe(`${gw.a2aUrl}/services/echo/?version=%5E1`);

    expect((await fetch(`${gw.a2aUrl}/agents/nobody/.well-known/agent-card.json`)).status).toBe(404);
    expect((await fetch(`${gw.a2aUrl}/services/echo/.well-known/agent-card.json?version=%5E9`)).status).toBe(404);

    const gone = connect(gw.address);
    await gone.register({ agentId: 'short-lived', service: 'short', version: '1.0.0' });
    expect((await fetch(`${gw.a2aUrl}/agents/short-lived/.well-known/agent-card.json`)).status).toBe(200);
    await gone.close();
    expect((await fetch(`${gw.a2aUrl}/agents/short-lived/.well-known/agent-card.json`)).status).toBe(404);
  });

  test('a profile that breaks the rules is refused at registration, naming the field', async () => {
    const bad = connect(gw.address);
    agents.push(bad);
    await expect(bad.register({ service: 'bad', version: '1.0.0', profile: { skills: [{ id: 'has space', name: 'x' }] } })).rejects.toThrow(
      /profile\.skills\[0\]\.id/,
    );
    await expect(bad.register({ service: 'bad', version: '1.0.0', profile: { description: 'x'.repeat(2000) } })).rejects.toThrow(
      /profile\.description: is 2000 characters long; the limit is 1024/,
    );
  });

  test('the catalogue lists cards with ETag and Cache-Control, filtered by capability and tag', async () => {
    const response = await fetch(`${gw.a2aUrl}/agents`);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const etag = response.headers.get('etag');
    expect(etag).toBeTruthy();
    const { agents: cards } = (await response.json()) as any;
    expect(cards.map((card: { name: string }) => card.name).sort()).toEqual(['echo-1', 'smart-1']);
    expect((await fetch(`${gw.a2aUrl}/agents`, { headers: { 'If-None-Match': etag! } })).status).toBe(304);

    const planners = (await (await fetch(`${gw.a2aUrl}/agents?capability=plan`)).json()) as any;
    expect(planners.agents.map((card: { name: string }) => card.name)).toEqual(['smart-1']);
    const tagged = (await (await fetch(`${gw.a2aUrl}/services?tag=lang:ts`)).json()) as any;
    expect(tagged.services.map((card: { name: string }) => card.name)).toEqual(['echo']);
    const own = (await (await fetch(`${gw.a2aUrl}/.well-known/agent-card.json`)).json()) as any;
    expect(own.name).toBe('OpenClaw Gateway');
    expect(own.skills.map((skill: { name: string }) => skill.name).sort()).toEqual(['echo', 'smart']);
  });

  test('SendMessage to a plain agent completes a task with its reply; GetTask and ListTasks find it', async () => {
    const a2a = await client(`${gw.a2aUrl}/agents/echo-1/`);
    const task = asTask(await a2a.sendMessage(send(userMessage('hello'))));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(textOf(task.status?.message?.parts)).toBe('echo:hello');

    const fetched = await a2a.getTask({ tenant: '', id: task.id, historyLength: undefined });
    expect(fetched.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(fetched.history.map((message) => textOf(message.parts))).toContain('hello');

    const listed = await a2a.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined });
    expect(listed.tasks.map((entry) => entry.id)).toContain(task.id);
    // Tasks stay with the URL they were created on.
    const other = await client(`${gw.a2aUrl}/agents/smart-1/`);
    await expect(other.getTask({ tenant: '', id: task.id, historyLength: undefined })).rejects.toThrow(/not found/i);
  });

  test('a service URL load-balances to the service; a repeated messageId returns the same task', async () => {
    const a2a = await client(`${gw.a2aUrl}/services/echo/`);
    const message = userMessage('once');
    const first = asTask(await a2a.sendMessage(send(message)));
    const again = asTask(await a2a.sendMessage(send(message)));
    expect(again.id).toBe(first.id);
    expect(textOf(first.status?.message?.parts)).toBe('echo:once');
    // Sent twice at once: still one task.
    const twice = userMessage('twice');
    const [one, two] = await Promise.all([a2a.sendMessage(send(twice)), a2a.sendMessage(send(twice))]);
    expect(asTask(one).id).toBe(asTask(two).id);
  });

  test('SendStreamingMessage streams the a2a agent events in order', async () => {
    const a2a = await client(`${gw.a2aUrl}/agents/smart-1/`);
    const events: StreamResponse[] = [];
    for await (const event of a2a.sendMessageStream(send(userMessage('trip')))) events.push(event);
    const kinds = events.map((event) => event.payload?.$case);
    expect(kinds[0]).toBe('task');
    const states = events.flatMap((event) => (event.payload?.$case === 'statusUpdate' ? [event.payload.value.status?.state] : []));
    expect(states).toEqual([TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_COMPLETED]);
    const artifact = events.find((event) => event.payload?.$case === 'artifactUpdate');
    expect(artifact?.payload?.$case === 'artifactUpdate' && textOf(artifact.payload.value.artifact?.parts)).toBe('plan for trip');
    const taskId = events[0].payload!.$case === 'task' ? events[0].payload!.value.id : '';
    const stored = await a2a.getTask({ tenant: '', id: taskId, historyLength: undefined });
    expect(stored.artifacts.map((entry) => textOf(entry.parts))).toEqual(['plan for trip']);
  });

  test('input-required: the task waits for the next message', async () => {
    const a2a = await client(`${gw.a2aUrl}/agents/smart-1/`);
    const task = asTask(await a2a.sendMessage(send(userMessage('ask'))));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(textOf(task.status?.message?.parts)).toBe('which year?');

    // The answer continues the same task at the same agent.
    const answered = asTask(await a2a.sendMessage(send(userMessage('2027', { taskId: task.id, contextId: task.contextId }))));
    expect(answered.id).toBe(task.id);
    expect(answered.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answered.artifacts.map((artifact) => textOf(artifact.parts))).toContain('plan for 2027');
    const history = (await a2a.getTask({ tenant: '', id: task.id, historyLength: undefined })).history.map((entry) => textOf(entry.parts));
    expect(history).toEqual(expect.arrayContaining(['ask', 'which year?', '2027']));
  });

  test('CancelTask reaches the agent as a cancel and is idempotent; SubscribeToTask re-attaches', async () => {
    const a2a = await client(`${gw.a2aUrl}/agents/smart-1/`);
    const started = asTask(await a2a.sendMessage(send(userMessage('hold'), { returnImmediately: true })));
    await waitFor(() => held.has(started.id));

    // A client that lost its stream re-attaches and sees the task, then its cancellation.
    const resubscribed: StreamResponse[] = [];
    const watching = (async () => {
      for await (const event of a2a.resubscribeTask({ tenant: '', id: started.id })) resubscribed.push(event);
    })();
    await waitFor(() => resubscribed.length > 0);

    const canceled = await a2a.cancelTask({ tenant: '', id: started.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const again = await a2a.cancelTask({ tenant: '', id: started.id, metadata: undefined });
    expect(again.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await waitFor(() => cancelled.includes(started.id));
    await watching;
    expect(resubscribed[0]?.payload?.$case).toBe('task');
    const last = resubscribed[resubscribed.length - 1];
    expect(last?.payload?.$case === 'statusUpdate' && last.payload.value.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  test('GetExtendedAgentCard answers the caller', async () => {
    const a2a = await client(`${gw.a2aUrl}/agents/smart-1/`);
    const card = await a2a.getAgentCard();
    expect(card.name).toBe('smart-1');
    expect(card.description).toContain('seen by anonymous');
  });

  test('the HTTP+JSON binding serves the same methods, with HTTP statuses for refusals', async () => {
    const { ClientFactory, ClientFactoryOptions } = await import('@a2a-js/sdk/client');
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { preferredTransports: ['HTTP+JSON'] }),
    );
    const rest = await factory.createFromUrl(`${gw.a2aUrl}/agents/echo-1/`);
    expect(rest.transport.protocolName).toBe('HTTP+JSON');
    const task = asTask(await rest.sendMessage(send(userMessage('over rest'))));
    expect(textOf(task.status?.message?.parts)).toBe('echo:over rest');
    expect((await rest.getTask({ tenant: '', id: task.id, historyLength: undefined })).id).toBe(task.id);
    const listed = await rest.listTasks({ tenant: '', contextId: '', status: 0, pageToken: '', statusTimestampAfter: undefined });
    expect(listed.tasks.map((entry) => entry.id)).toContain(task.id);
    const events: StreamResponse[] = [];
    const smart = await factory.createFromUrl(`${gw.a2aUrl}/agents/smart-1/`);
    for await (const event of smart.sendMessageStream(send(userMessage('rest trip')))) events.push(event);
    expect(events.map((event) => event.payload?.$case)).toContain('artifactUpdate');

    const gone = await fetch(`${gw.a2aUrl}/agents/nobody/rest/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
      body: JSON.stringify({ message: { messageId: 'r1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } }),
    });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { message: string } }).error.message).toContain('GW_NOT_FOUND');
  });

  test('the gRPC binding (A2AService on the gateway gRPC listener) serves the same methods', async () => {
    const { ClientFactory, ClientFactoryOptions } = await import('@a2a-js/sdk/client');
    const { GrpcTransportFactory } = await import('@a2a-js/sdk/client/grpc');
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new GrpcTransportFactory()],
        preferredTransports: ['GRPC'],
      }),
    );
    const grpc = await factory.createFromUrl(`${gw.a2aUrl}/services/echo/`);
    expect(grpc.transport.protocolName).toBe('GRPC');
    const task = asTask(await grpc.sendMessage(send(userMessage('over grpc'))));
    expect(textOf(task.status?.message?.parts)).toBe('echo:over grpc');
    expect((await grpc.getTask({ tenant: '', id: task.id, historyLength: undefined })).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const smart = await factory.createFromUrl(`${gw.a2aUrl}/agents/smart-1/`);
    const events: StreamResponse[] = [];
    for await (const event of smart.sendMessageStream(send(userMessage('grpc trip')))) events.push(event);
    expect(events.map((event) => event.payload?.$case)).toEqual(expect.arrayContaining(['task', 'artifactUpdate', 'statusUpdate']));
    const card = (await (
      await fetch(`${gw.a2aUrl}/agents/smart-1/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })
    ).json()) as { supportedInterfaces: Array<{ protocolBinding: string; url: string; tenant?: string }> };
    expect(card.supportedInterfaces).toContainEqual(
      expect.objectContaining({ protocolBinding: 'GRPC', url: gw.address, tenant: 'agents/smart-1' }),
    );
  });

  test('bad input gets JSON-RPC errors: unknown method, malformed params, unknown agent', async () => {
    const rpc = async (path: string, body: unknown) =>
      (
        await fetch(`${gw.a2aUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'A2A-Version': '1.0' },
          body: JSON.stringify(body),
        })
      ).json() as Promise<any>;
    expect((await rpc('/agents/echo-1/', { jsonrpc: '2.0', id: 1, method: 'NoSuchMethod', params: {} })).error.code).toBe(-32601);
    expect((await rpc('/agents/echo-1/', { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id: '' } })).error.code).toBe(-32602);
    const missing = await rpc('/agents/nobody/', {
      jsonrpc: '2.0',
      id: 3,
      method: 'SendMessage',
      params: { message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } },
    });
    expect(missing.error).toMatchObject({ code: -32055, message: expect.stringContaining('GW_NOT_FOUND') });
    const broken = await fetch(`${gw.a2aUrl}/agents/echo-1/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(((await broken.json()) as any).error.code).toBe(-32700);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
