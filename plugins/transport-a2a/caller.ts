/**
 * Who is calling and which agent or service the call is for, carried from the HTTP layer (where
 * the auth plugin identified the caller) through the SDK's request handler to the executor and
 * the task store, as the SDK's `User` of the call.
 */
import type { ServerCallContext, User } from '@a2a-js/sdk/server';
import { GatewayError, type Identity } from '../../kernel';

/** An agent by id, or a service (load-balanced over its instances) with an optional semver range. */
export type A2aTarget = { kind: 'agent'; agentId: string } | { kind: 'service'; service: string; versionRange: string };

export type A2aBinding = 'jsonrpc' | 'rest' | 'grpc';

export interface TaskScope {
  owner: string;
  target: string;
}

export class GatewayUser implements User {
  constructor(
    readonly identity: Identity,
    readonly target: A2aTarget,
    readonly peer: string,
    /** Base URL of the target as the caller reached it (ends with `/`). */
    readonly base: string,
    /** Which binding the call came in on, so errors take that binding's form. */
    readonly binding: A2aBinding = 'jsonrpc',
  ) {}

  get isAuthenticated(): boolean {
    return this.identity.method !== 'open';
  }

  get userName(): string {
    return this.identity.id;
  }

  get scope(): TaskScope {
    return { owner: this.identity.id, target: targetKey(this.target) };
  }
}

/** `agent:<id>` or `service:<name>`: a task stays with the URL it was created on. */
export function targetKey(target: A2aTarget): string {
  return target.kind === 'agent' ? `agent:${target.agentId}` : `service:${target.service}`;
}

export function targetName(target: A2aTarget): string {
  return target.kind === 'agent' ? target.agentId : target.service;
}

export function userOf(context: ServerCallContext): GatewayUser {
  const user = context.user;
  if (!(user instanceof GatewayUser)) throw new GatewayError('GW_INTERNAL', 'an A2A call reached the handler without the gateway caller');
  return user;
}

export function scopeOf(context: ServerCallContext): TaskScope {
  return userOf(context).scope;
}
