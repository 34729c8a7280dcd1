/**
 * The SDK's `AgentExecutor` for every agent and service behind the gateway: an A2A message becomes
 * a gateway request (point-to-point to an agent, or load-balanced over a service's instances),
 * with a deadline and cancellation, and the answer becomes the task's events.
 *
 * Every message creates (or continues) a task, so it is stored and survives a restart: the task
 * is published submitted, then working, then what the agent answered. A plain agent's reply
 * completes the task with the reply as the agent's message. An `a2a` agent's answer is an A2A
 * event of its own (e.g. completed with artifacts, or input-required), and it may stream events
 * before it (see agent-events.ts). CancelTask aborts the request, which the router turns into a
 * cancel event at the handling agent.
 */
import { TaskState, type Message, type Task } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import { GatewayError, toGatewayError, type MessageEnvelope, type RegistryService, type RouterService } from '../../kernel';
import type { AgentEvents } from './agent-events';
import { userOf, type A2aTarget, type TaskScope } from './caller';
import { A2A_CAPABILITY, a2aPayload, agentMessage, parseAgentEvent, plainPayload, replyParts, type Payload } from './message-mapping';
import { TERMINAL_STATES } from './task-store';

export interface ExecutorDeps {
  router: RouterService;
  registry: RegistryService;
  events: AgentEvents;
  requestTimeoutMs: number;
  /** Records which task a messageId created, so a repeated send finds it. */
  remember(scope: TaskScope, messageId: string, taskId: string): Promise<void>;
}

export class GatewayExecutor implements AgentExecutor {
  /** Running requests by task id, so CancelTask can abort them. Bounded by the running tasks. */
  private readonly running = new Map<string, { abort: AbortController; contextId: string }>();

  private stopping = false;

  constructor(private readonly deps: ExecutorDeps) {}

  /**
   * The gateway stops: running requests are abandoned without a final event, so their tasks stay
   * working in the store and the next start reports them failed with the reason.
   */
  stop(): void {
    this.stopping = true;
    for (const { abort } of this.running.values()) abort.abort(new GatewayError('GW_DRAINING', 'the gateway is stopping'));
  }

  get runningTasks(): number {
    return this.running.size;
  }

  execute = async (request: RequestContext, bus: ExecutionEventBus): Promise<void> => {
    const user = userOf(request.context);
    const { taskId, contextId } = request;
    const message = request.userMessage;
    const status = (state: TaskState, reply?: Message) =>
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId,
          status: { state, message: reply, timestamp: new Date().toISOString() },
          metadata: undefined,
        }),
      );

    const existing = request.task;
    const task: Task = existing
      ? { ...existing, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() } }
      : {
          id: taskId,
          contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
          artifacts: [],
          history: [message],
          metadata: undefined,
        };
    bus.publish(AgentEvent.task(task));
    if (message.messageId) await this.deps.remember(user.scope, message.messageId, taskId);

    if (this.stopping) return;
    const abort = new AbortController();
    this.running.set(taskId, { abort, contextId });
    const a2a = this.speaksA2a(user.target);
    const subscription = a2a
      ? this.deps.events.open((event) => {
          try {
            this.publishAgentEvent(parseAgentEvent(event.payload, taskId), bus, taskId, contextId);
          } catch {
            // A malformed streamed event is the agent's bug; the answer still settles the task.
          }
        })
      : undefined;
    try {
      const payload: Payload = a2a ? a2aPayload(message, taskId, contextId, existing) : plainPayload(message);
      status(TaskState.TASK_STATE_WORKING);
      const deadline = Date.now() + this.deps.requestTimeoutMs;
      const headers: Record<string, string> = { 'a2a-task-id': taskId, 'a2a-context-id': contextId, 'a2a-message-id': message.messageId };
      if (subscription) headers['a2a-events-topic'] = subscription.topic;
      const reply = await this.deps.router.request(
        envelope(user.target, payload, headers, contextId),
        { identity: user.identity, peer: user.peer, signal: abort.signal, deadline },
        { deadline, signal: abort.signal },
      );
      if (abort.signal.aborted) return;
      if (a2a) {
        this.publishAgentEvent(parseAgentEvent(reply.payload, taskId), bus, taskId, contextId, true);
      } else {
        status(TaskState.TASK_STATE_COMPLETED, agentMessage(taskId, contextId, replyParts(reply.payload, reply.contentType)));
      }
    } catch (error) {
      if (abort.signal.aborted || this.stopping) return;
      const failure = toGatewayError(error);
      status(
        TaskState.TASK_STATE_FAILED,
        agentMessage(taskId, contextId, [
          {
            content: { $case: 'text', value: `${failure.code}: ${failure.message}` },
            mediaType: 'text/plain',
            filename: '',
            metadata: undefined,
          },
        ]),
      );
    } finally {
      subscription?.release();
      this.running.delete(taskId);
    }
  };

  cancelTask = async (taskId: string, bus: ExecutionEventBus): Promise<void> => {
    const running = this.running.get(taskId);
    running?.abort.abort(new GatewayError('GW_CANCELLED', 'the A2A client cancelled the task'));
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId: running?.contextId ?? '',
        status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() },
        metadata: undefined,
      }),
    );
  };

  /** True when the target's agents declare `a2a`: every routable instance of a service must. */
  private speaksA2a(target: A2aTarget): boolean {
    if (target.kind === 'agent') return this.deps.registry.get(target.agentId)?.capabilities.includes(A2A_CAPABILITY) ?? false;
    const instances = this.deps.registry.discover({
      service: target.service,
      versionRange: target.versionRange || undefined,
      routableOnly: true,
    });
    return instances.length > 0 && instances.every((instance) => instance.capabilities.includes(A2A_CAPABILITY));
  }

  /**
   * An a2a agent's event onto the bus. Its answer (`final`) settles the task: a message completes
   * it with that message, a non-terminal state other than input/auth-required completes it.
   */
  private publishAgentEvent(
    event: ReturnType<typeof parseAgentEvent>,
    bus: ExecutionEventBus,
    taskId: string,
    contextId: string,
    final = false,
  ): TaskState | undefined {
    const payload = event.payload!;
    const now = new Date().toISOString();
    switch (payload.$case) {
      case 'message': {
        const reply = { ...payload.value, taskId, contextId };
        bus.publish(
          AgentEvent.statusUpdate({
            taskId,
            contextId,
            status: { state: final ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_WORKING, message: reply, timestamp: now },
            metadata: undefined,
          }),
        );
        return final ? TaskState.TASK_STATE_COMPLETED : TaskState.TASK_STATE_WORKING;
      }
      case 'artifactUpdate':
        bus.publish(AgentEvent.artifactUpdate({ ...payload.value, taskId, contextId }));
        if (final)
          bus.publish(
            AgentEvent.statusUpdate({
              taskId,
              contextId,
              status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: now },
              metadata: undefined,
            }),
          );
        return final ? TaskState.TASK_STATE_COMPLETED : undefined;
      case 'task': {
        for (const artifact of payload.value.artifacts) {
          bus.publish(AgentEvent.artifactUpdate({ taskId, contextId, artifact, append: false, lastChunk: true, metadata: undefined }));
        }
        const state = settled(payload.value.status?.state, final);
        bus.publish(
          AgentEvent.statusUpdate({
            taskId,
            contextId,
            status: { state, message: payload.value.status?.message, timestamp: now },
            metadata: undefined,
          }),
        );
        return state;
      }
      case 'statusUpdate': {
        const state = settled(payload.value.status?.state, final);
        bus.publish(
          AgentEvent.statusUpdate({
            taskId,
            contextId,
            status: { state, message: payload.value.status?.message, timestamp: now },
            metadata: payload.value.metadata,
          }),
        );
        return state;
      }
    }
  }
}

/** The state an event leaves the task in; an answer never leaves it working. */
function settled(state: TaskState | undefined, final: boolean): TaskState {
  const given = state ?? TaskState.TASK_STATE_WORKING;
  if (!final) return given;
  if (TERMINAL_STATES.has(given) || given === TaskState.TASK_STATE_INPUT_REQUIRED || given === TaskState.TASK_STATE_AUTH_REQUIRED)
    return given;
  return TaskState.TASK_STATE_COMPLETED;
}

function envelope(target: A2aTarget, payload: Payload, headers: Record<string, string>, contextId: string): MessageEnvelope {
  return {
    id: '',
    topic: '',
    agentId: target.kind === 'agent' ? target.agentId : '',
    service: target.kind === 'service' ? target.service : '',
    versionRange: target.kind === 'service' ? target.versionRange : '',
    payload: payload.payload,
    headers,
    durable: false,
    senderId: '',
    // One conversation stays on one instance when the service balances by key.
    key: contextId,
    hops: 0,
    maxHops: 0,
    correlationId: '',
    replyTo: '',
    contentType: payload.contentType,
    createdAt: Date.now(),
    ttlMs: 0,
  };
}
