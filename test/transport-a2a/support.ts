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
  const address = gw.gateway.transports()[1]!.addresses()[0]!;
  return { ...gw, a2aUrl: `http://${address}` };
}

/** The official client for an agent's base URL; with a token, every request (the card too) carries it. */
export function client(url: string, token?: string): Promise<Client> {
  if (!token) return new ClientFactory().createFromUrl(url);
  const fetchImpl: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } });
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
    configuration: configuration ? { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: configuration.returnImmediately ?? false } : undefined,
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
