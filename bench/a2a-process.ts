/**
 * A2A servers for the `a2a-send` scenario, in their own process: either the gateway (kernel with
 * registry-memory, router-embedded, open auth-standard, transport-grpc, transport-a2a, and an
 * echo agent on the TypeScript SDK in this process) or the `@a2a-js/sdk` server alone (express +
 * DefaultRequestHandler + in-memory task store) whose executor answers the same way the gateway
 * does: a task, working, completed with the echo as the agent's message. Reports the URL to send
 * to, and its CPU and memory like every server under test.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Role, TaskState } from '@a2a-js/sdk';
import { startGateway } from '../index';
import { connect } from '../sdk';
import { failStartup, serveHarness } from './server-ipc';

export interface A2aProcessConfig {
  mode: 'gateway' | 'sdk';
  dataDir?: string;
}

async function startSdkServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const express = (await import('express')).default;
  const { DefaultRequestHandler, InMemoryTaskStore, AgentEvent } = await import('@a2a-js/sdk/server');
  const { jsonRpcHandler, agentCardHandler } = await import('@a2a-js/sdk/server/express');
  const app = express();
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const card = {
    name: 'echo',
    description: 'echo on the A2A SDK alone',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: true, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [],
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), {
    async execute(request, bus) {
      const { taskId, contextId } = request;
      const now = () => new Date().toISOString();
      bus.publish(
        AgentEvent.task({
          id: taskId,
          contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: now() },
          artifacts: [],
          history: [request.userMessage],
          metadata: undefined,
        }),
      );
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: now() },
          metadata: undefined,
        }),
      );
      const text = request.userMessage.parts.map((part) => (part.content?.$case === 'text' ? part.content.value : '')).join('');
      const reply = {
        messageId: randomUUID(),
        contextId,
        taskId,
        role: Role.ROLE_AGENT,
        parts: [{ content: { $case: 'text' as const, value: `echo:${text}` }, mediaType: 'text/plain', filename: '', metadata: undefined }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      };
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: { state: TaskState.TASK_STATE_COMPLETED, message: reply, timestamp: now() },
          metadata: undefined,
        }),
      );
      bus.finished();
    },
    async cancelTask() {},
  });
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  app.use('/', jsonRpcHandler({ requestHandler: handler, userBuilder: async () => ({ isAuthenticated: false, userName: 'bench' }) }));
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function startGatewayServer(dataDir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const gateway = await startGateway({
    cwd: dataDir,
    logLevel: 'error',
    config: {
      gateway: { dataDir, logLevel: 'error', logFormat: 'json', drainTimeoutMs: 5_000 },
      plugins: [
        'registry-memory',
        'router-embedded',
        'auth-standard',
        { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }], health: false, reflection: false } },
        { use: 'transport-a2a', options: { host: '127.0.0.1', port: 0, maxRequestsPerIdentity: 10_000 } },
      ],
    },
  });
  const agent = connect(gateway.transports()[0].addresses()[0]);
  await agent.register({ agentId: 'echo-1', service: 'echo', version: '1.0.0' });
  void (async () => {
    for await (const delivery of await agent.subscribe())
      if (delivery.isRequest) await delivery.reply(`echo:${delivery.text()}`, { contentType: 'text/plain' });
  })().catch(() => undefined);
  return {
    url: `http://${gateway.transports()[1].addresses()[0]}/agents/echo-1/`,
    stop: async () => {
      await agent.close();
      await gateway.stop('benchmark finished');
    },
  };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as A2aProcessConfig;
  const started = performance.now();
  const server = options.mode === 'gateway' ? await startGatewayServer(options.dataDir!) : await startSdkServer();
  serveHarness({ address: server.url, startMs: performance.now() - started }, () => server.stop());
}

main().catch(failStartup);
