/**
 * A real gateway with transport-a2a on a loopback port, the official A2A client against it, and
 * small helpers for the A2A tests.
 */
import { randomUUID } from 'node:crypto';
import { Role, type Message, type Part, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import type { PluginEntry } from '../../kernel';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../helpers/gateway';

export interface A2aGateway extends TestGateway {
  a2aUrl: string;
}

export async function startA2aGateway(options: TestGatewayOptions & { a2a?: Record<string, unknown> } = {}): Promise<A2aGateway> {
  const a2a: PluginEntry = { use: 'transport-a2a', options: { host: '127.0.0.1', port: 0, ...options.a2a } };
  const gw = await startTestGateway({ ...options, extraPlugins: [...(options.extraPlugins ?? []), a2a] });
  const address = gw.gateway.transports()[1].addresses()[0];
  return { ...gw, a2aUrl: `http://${address}` };
}

/** The official client for an agent's base URL; with a token, every request (the card too) carries it. */
export function client(url: string, token?: string): Promise<Client> {
  if (!token) return new ClientFactory().createFromUrl(url);
  const fetchImpl: typeof fetch = (input, init) =>
    fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } });
  const options = ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
  });
  return new ClientFactory(options).createFromUrl(url);
}

export function userMessage(text: string, extra: Partial<Message> = {}): Message {
  return {
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
    ...extra,
  };
}

export function send(message: Message, configuration?: { returnImmediately?: boolean }) {
  return {
    tenant: '',
    message,
    configuration: configuration
      ? { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: configuration.returnImmediately ?? false }
      : undefined,
    metadata: undefined,
  };
}

export function textOf(parts: readonly Part[] | undefined): string {
  return (parts ?? []).flatMap((part) => (part.content?.$case === 'text' ? [part.content.value] : [])).join('\n');
}

export function asTask(result: Message | Task): Task {
  if ('messageId' in result) throw new Error(`expected a task, got a message: ${textOf(result.parts)}`);
  return result;
}

export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * An A2A agent served by the SDK alone (express + DefaultRequestHandler + in-memory store), as an
 * external agent would be: it answers each message with `<prefix><text>`, and records the
 * `authorization` header of each call.
 */
export async function startSdkAgent(prefix: string): Promise<{ url: string; authorizations: string[]; close(): Promise<void> }> {
  const express = (await import('express')).default;
  const { DefaultRequestHandler, InMemoryTaskStore, AgentEvent } = await import('@a2a-js/sdk/server');
  const { jsonRpcHandler, agentCardHandler } = await import('@a2a-js/sdk/server/express');
  const authorizations: string[] = [];
  const app = express();
  app.use((req, _res, next) => {
    authorizations.push(String(req.headers.authorization ?? ''));
    next();
  });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const port = (server.address() as import('node:net').AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  const card = {
    name: 'sdk-echo',
    description: 'an echo agent on the A2A SDK alone',
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
    provider: undefined,
    version: '3.1.0',
    capabilities: { streaming: true, extensions: [] },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [
      {
        id: 'echo',
        name: 'Echo',
        description: 'says it back',
        tags: ['echo'],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), {
    async execute(request, bus) {
      bus.publish(
        AgentEvent.message({
          ...userMessage(`${prefix}${textOf(request.userMessage.parts)}`),
          role: Role.ROLE_AGENT,
          contextId: request.contextId,
        }),
      );
      bus.finished();
    },
    async cancelTask() {},
  });
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  app.use('/', jsonRpcHandler({ requestHandler: handler, userBuilder: async () => ({ isAuthenticated: false, userName: '' }) }));
  return {
    url,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
