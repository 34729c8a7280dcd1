/**
 * The A2A methods as the gateway serves them: the SDK's `DefaultRequestHandler` (task lifecycle,
 * streaming, history, cancel) behind the gateway's own checks. Every method asks RBAC for the
 * same action and resource as the gRPC path (`request` on the agent id or service the URL names);
 * SendMessage needs the target to exist; a repeated `messageId` answers with the task it created
 * instead of asking the agent again; SSE streams are bounded in total and per identity.
 */
import { TaskState, type AgentCard, type Message, type Task } from '@a2a-js/sdk';
import { DefaultRequestHandler, type PushNotificationSender, type PushNotificationStore, type ServerCallContext } from '@a2a-js/sdk/server';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import { GatewayError, Status, type AuthService, type RegistryService } from '../../kernel';
import type { AgentCards } from './agent-cards';
import { GatewayUser, targetName, userOf, type A2aTarget } from './caller';
import { toA2aError } from './errors';
import type { GatewayExecutor } from './gateway-executor';
import type { A2aLimits } from './limits';
import { TERMINAL_STATES, type LmdbTaskStore } from './task-store';

type Params<M extends keyof A2ARequestHandler> = Parameters<A2ARequestHandler[M]>[0];

export interface RequestHandlerDeps {
  auth: AuthService;
  registry: RegistryService;
  store: LmdbTaskStore;
  executor: GatewayExecutor;
  cards: AgentCards;
  limits: A2aLimits;
  push?: { store: PushNotificationStore; sender: PushNotificationSender };
  observe(method: string, error: unknown, durationSeconds: number): void;
}

const STATUS_NAMES = new Map<number, string>(Object.entries(Status).map(([name, code]) => [code, name]));
export function statusNameOf(error: unknown): string {
  if (error === undefined) return 'OK';
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') return STATUS_NAMES.get(status) ?? 'UNKNOWN';
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : 'UNKNOWN';
}

export class GatewayRequestHandler implements A2ARequestHandler {
  private readonly inner: DefaultRequestHandler;
  /** Blocking sends in flight by (owner, target, messageId); bounded by the calls in flight. */
  private readonly sending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: RequestHandlerDeps,
    private readonly card: AgentCard,
  ) {
    this.inner = new DefaultRequestHandler(card, deps.store, deps.executor, undefined, deps.push?.store, deps.push?.sender);
  }

  /** What the SDK checks versions against: one JSON-RPC interface in v1.0 and v0.3. */
  async getAgentCard(): Promise<AgentCard> {
    return this.card;
  }

  getAuthenticatedExtendedAgentCard(_params: Params<'getAuthenticatedExtendedAgentCard'>, context: ServerCallContext): Promise<AgentCard> {
    return this.call('GetExtendedAgentCard', context, async (user) => {
      if (!user.isAuthenticated && !this.deps.auth.loopbackOnly())
        throw new GatewayError('GW_UNAUTHENTICATED', 'the extended card is for authenticated callers');
      const base = user.base;
      const card =
        user.target.kind === 'agent'
          ? this.deps.cards.agentCard(user.target.agentId, base)
          : this.deps.cards.serviceCard(user.target.service, user.target.versionRange, base);
      if (!card) throw gone(user.target);
      card.description = `${card.description} (seen by ${user.identity.id})`;
      return card;
    });
  }

  sendMessage(params: Params<'sendMessage'>, context: ServerCallContext): Promise<Message | Task> {
    return this.call('SendMessage', context, async (user) => {
      const key = params.message?.messageId ? `${user.scope.owner}\u0000${user.scope.target}\u0000${params.message.messageId}` : undefined;
      // The same messageId sent again while the first is still running waits for it.
      const earlier = key === undefined ? undefined : this.sending.get(key);
      if (earlier) await earlier.catch(() => undefined);
      const previous = await this.previousTask(user, params.message, context);
      if (previous) return previous;
      this.ensureReachable(user.target);
      if (!params.message?.taskId) await this.deps.store.makeRoom();
      const running = this.inner.sendMessage(params, context);
      if (key === undefined) return running;
      this.sending.set(key, running);
      try {
        return await running;
      } finally {
        if (this.sending.get(key) === running) this.sending.delete(key);
      }
    });
  }

  sendMessageStream(params: Params<'sendMessageStream'>, context: ServerCallContext) {
    return this.stream('SendStreamingMessage', context, async function* (this: GatewayRequestHandler, user: GatewayUser) {
      const previous = await this.previousTask(user, params.message, context);
      if (previous) {
        yield { payload: { $case: 'task' as const, value: previous } };
        if (!TERMINAL_STATES.has(previous.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED))
          yield* this.inner.resubscribe({ tenant: '', id: previous.id }, context);
        return;
      }
      this.ensureReachable(user.target);
      if (!params.message?.taskId) await this.deps.store.makeRoom();
      yield* this.inner.sendMessageStream(params, context);
    });
  }

  getTask(params: Params<'getTask'>, context: ServerCallContext): Promise<Task> {
    return this.call('GetTask', context, () => this.inner.getTask(params, context));
  }

  listTasks(params: Params<'listTasks'>, context: ServerCallContext) {
    return this.call('ListTasks', context, () => this.inner.listTasks(params, context));
  }

  cancelTask(params: Params<'cancelTask'>, context: ServerCallContext): Promise<Task> {
    return this.call('CancelTask', context, () => this.inner.cancelTask(params, context));
  }

  resubscribe(params: Params<'resubscribe'>, context: ServerCallContext) {
    return this.stream('SubscribeToTask', context, async function* (this: GatewayRequestHandler) {
      yield* this.inner.resubscribe(params, context);
    });
  }

  createTaskPushNotificationConfig(params: Params<'createTaskPushNotificationConfig'>, context: ServerCallContext) {
    return this.call('CreateTaskPushNotificationConfig', context, () => this.inner.createTaskPushNotificationConfig(params, context));
  }

  getTaskPushNotificationConfig(params: Params<'getTaskPushNotificationConfig'>, context: ServerCallContext) {
    return this.call('GetTaskPushNotificationConfig', context, () => this.inner.getTaskPushNotificationConfig(params, context));
  }

  listTaskPushNotificationConfigs(params: Params<'listTaskPushNotificationConfigs'>, context: ServerCallContext) {
    return this.call('ListTaskPushNotificationConfigs', context, () => this.inner.listTaskPushNotificationConfigs(params, context));
  }

  deleteTaskPushNotificationConfig(params: Params<'deleteTaskPushNotificationConfig'>, context: ServerCallContext) {
    return this.call('DeleteTaskPushNotificationConfig', context, () => this.inner.deleteTaskPushNotificationConfig(params, context));
  }

  /** Authorization, error mapping and the observation around one unary method. */
  private async call<T>(method: string, context: ServerCallContext, body: (user: GatewayUser) => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    const binding = bindingOf(context);
    try {
      const user = this.authorize(context);
      const result = await body(user);
      this.deps.observe(method, undefined, (performance.now() - startedAt) / 1000);
      return result;
    } catch (error) {
      this.deps.observe(method, error, (performance.now() - startedAt) / 1000);
      throw toA2aError(error, binding);
    }
  }

  private async *stream<T>(
    method: string,
    context: ServerCallContext,
    body: (this: GatewayRequestHandler, user: GatewayUser) => AsyncGenerator<T>,
  ): AsyncGenerator<T, void, undefined> {
    let release: (() => void) | undefined;
    const startedAt = performance.now();
    const binding = bindingOf(context);
    try {
      const user = this.authorize(context);
      release = this.deps.limits.openStream(user.identity.id);
      yield* body.call(this, user);
      this.deps.observe(method, undefined, (performance.now() - startedAt) / 1000);
    } catch (error) {
      this.deps.observe(method, error, (performance.now() - startedAt) / 1000);
      throw toA2aError(error, binding);
    } finally {
      release?.();
    }
  }

  /** Same action and resource as the gRPC Request: `request` on the agent id or service. */
  private authorize(context: ServerCallContext): GatewayUser {
    const user = userOf(context);
    const resource = targetName(user.target);
    const decision = this.deps.auth.authorize({ identity: user.identity, action: 'request', resource });
    if (!decision.allowed)
      throw new GatewayError('GW_PERMISSION_DENIED', `"${user.identity.id}" may not request "${resource}": ${decision.reason}`);
    return user;
  }

  private ensureReachable(target: A2aTarget): void {
    if (target.kind === 'agent') {
      const record = this.deps.registry.get(target.agentId);
      if (!record || record.state === 'terminated') throw gone(target);
    } else if (
      this.deps.registry.discover({ service: target.service, versionRange: target.versionRange || undefined, limit: 1 }).length === 0
    ) {
      throw gone(target);
    }
  }

  /** The task an earlier message with this messageId created, for a repeated send. */
  private async previousTask(user: GatewayUser, message: Message | undefined, context: ServerCallContext): Promise<Task | undefined> {
    if (!message?.messageId) return undefined;
    const taskId = this.deps.store.taskForMessage(user.scope, message.messageId);
    return taskId ? this.deps.store.load(taskId, context) : undefined;
  }
}

function bindingOf(context: ServerCallContext): 'jsonrpc' | 'rest' | 'grpc' {
  const user = context.user;
  return user instanceof GatewayUser ? user.binding : 'jsonrpc';
}

function gone(target: A2aTarget): GatewayError {
  return target.kind === 'agent'
    ? new GatewayError('GW_NOT_FOUND', `agent "${target.agentId}" is not registered`)
    : new GatewayError(
        'GW_NOT_FOUND',
        `service "${target.service}" has no instance${target.versionRange ? ` in ${target.versionRange}` : ''}`,
      );
}
