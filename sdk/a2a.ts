/**
 * Helpers for agents that declare the capability `a2a`: the gateway's A2A transport hands them
 * the A2A message itself (`application/a2a+json`) and lets them stream task events back, so an
 * A2A client sees working/input-required states and artifacts as they happen.
 *
 * ```ts
 * for await (const delivery of inbox) {
 *   const task = A2aTask.from(agent, delivery);
 *   if (!task) { await delivery.reply('plain answer'); continue; }
 *   await task.working('thinking');
 *   await task.artifact({ name: 'summary', text: 'the summary' });
 *   await task.complete('done');          // or task.inputRequired('which year?'), task.fail('why')
 * }
 * ```
 *
 * Events before the answer are published on the task's events topic (header `a2a-events-topic`,
 * an unguessable per-task topic); the answer is the request's reply. Each call waits for the
 * gateway to accept the event, so events arrive in the order they were sent.
 */
import { randomUUID } from 'node:crypto';
import { Message as A2aMessage, Role, StreamResponse, TaskState, type Part } from '@a2a-js/sdk';
import type { Agent } from './agent';
import type { AgentDelivery } from './delivery';
import { GatewayClientError } from './errors';

export const A2A_CONTENT_TYPE = 'application/a2a+json';

type PartInput = { text: string } | { data: unknown };

export class A2aTask {
  /** The client's message, in the A2A SDK's form. */
  readonly message: A2aMessage;
  readonly taskId: string;
  readonly contextId: string;
  private readonly eventsTopic: string;
  private answered = false;

  private constructor(
    private readonly agent: Agent,
    private readonly delivery: AgentDelivery,
    body: { message: unknown; taskId: string; contextId: string },
  ) {
    this.message = A2aMessage.fromJSON(body.message);
    this.taskId = body.taskId;
    this.contextId = body.contextId;
    this.eventsTopic = delivery.message.headers['a2a-events-topic'] ?? '';
  }

  /** The A2A task of a delivery, or undefined when it is not an A2A request. */
  static from(agent: Agent, delivery: AgentDelivery): A2aTask | undefined {
    if (delivery.message.contentType !== A2A_CONTENT_TYPE || !delivery.isRequest) return undefined;
    let body: { message: unknown; taskId: string; contextId: string };
    try {
      body = JSON.parse(delivery.text()) as typeof body;
    } catch {
      return undefined;
    }
    return new A2aTask(agent, delivery, body);
  }

  /** The text parts of the client's message, joined by newlines. */
  get text(): string {
    return this.message.parts.flatMap((part) => (part.content?.$case === 'text' ? [part.content.value] : [])).join('\n');
  }

  /** Status working, with an optional progress message. */
  working(text?: string): Promise<void> {
    return this.event(this.status(TaskState.TASK_STATE_WORKING, text));
  }

  /** One artifact (a result part the client keeps with the task). */
  artifact(artifact: { name?: string; artifactId?: string } & PartInput): Promise<void> {
    return this.event({
      payload: {
        $case: 'artifactUpdate',
        value: {
          taskId: this.taskId,
          contextId: this.contextId,
          artifact: {
            artifactId: artifact.artifactId ?? randomUUID(),
            name: artifact.name ?? '',
            description: '',
            parts: [part(artifact)],
            metadata: undefined,
            extensions: [],
          },
          append: false,
          lastChunk: true,
          metadata: undefined,
        },
      },
    });
  }

  /** Answers: the task is completed, with an optional final message. */
  complete(text?: string): Promise<void> {
    return this.answer(this.status(TaskState.TASK_STATE_COMPLETED, text));
  }

  /** Answers: the task waits for the client's next message (same task id). */
  inputRequired(text: string): Promise<void> {
    return this.answer(this.status(TaskState.TASK_STATE_INPUT_REQUIRED, text));
  }

  /** Answers: the task failed, saying why. */
  fail(text: string): Promise<void> {
    return this.answer(this.status(TaskState.TASK_STATE_FAILED, text));
  }

  /** Answers: the agent will not do it. */
  reject(text: string): Promise<void> {
    return this.answer(this.status(TaskState.TASK_STATE_REJECTED, text));
  }

  private status(state: TaskState, text?: string): StreamResponse {
    const message: A2aMessage | undefined =
      text === undefined
        ? undefined
        : {
            messageId: randomUUID(),
            contextId: this.contextId,
            taskId: this.taskId,
            role: Role.ROLE_AGENT,
            parts: [part({ text })],
            metadata: undefined,
            extensions: [],
            referenceTaskIds: [],
          };
    return {
      payload: {
        $case: 'statusUpdate',
        value: {
          taskId: this.taskId,
          contextId: this.contextId,
          status: { state, message, timestamp: new Date().toISOString() },
          metadata: undefined,
        },
      },
    };
  }

  private async event(event: StreamResponse): Promise<void> {
    if (this.answered) throw new GatewayClientError('GW_FAILED_PRECONDITION', 9, 'this A2A task was already answered');
    if (!this.eventsTopic)
      throw new GatewayClientError(
        'GW_FAILED_PRECONDITION',
        9,
        'the request carries no a2a-events-topic header: stream events need the gateway A2A transport',
      );
    await this.agent.publish(this.eventsTopic, JSON.stringify(StreamResponse.toJSON(event)), { contentType: A2A_CONTENT_TYPE });
  }

  private async answer(event: StreamResponse): Promise<void> {
    if (this.answered) throw new GatewayClientError('GW_FAILED_PRECONDITION', 9, 'this A2A task was already answered');
    this.answered = true;
    await this.delivery.reply(JSON.stringify(StreamResponse.toJSON(event)), { contentType: A2A_CONTENT_TYPE });
  }
}

function part(input: PartInput): Part {
  if ('text' in input) return { content: { $case: 'text', value: input.text }, mediaType: 'text/plain', filename: '', metadata: undefined };
  return { content: { $case: 'data', value: input.data }, mediaType: 'application/json', filename: '', metadata: undefined };
}
