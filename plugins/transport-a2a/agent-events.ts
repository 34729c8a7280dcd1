/**
 * Where agents declaring `a2a` stream task events before their answer: one router session of
 * this plugin subscribed to `a2a.events.<gateway id>.>`. Each running task gets a topic with an
 * unguessable token (`a2a.events.<gateway>.<128 random bits>`), sent to the agent in the
 * `a2a-events-topic` header; events published there reach that task's listener only. Knowing the
 * token is the permission, so another agent cannot inject events into a task it never saw.
 *
 * Listeners live while their task's request runs (bounded by the running tasks); events for a
 * token nobody listens to (a finished task) are dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventSink, MessageEnvelope, OutboundEvent, RouterService, RouterSession } from '../../kernel';

export type AgentEventListener = (message: MessageEnvelope) => void;

export class AgentEvents {
  private readonly listeners = new Map<string, AgentEventListener>();
  private session?: RouterSession;
  private readonly prefix: string;

  constructor(
    private readonly router: RouterService,
    gatewayId: string,
    private readonly logger: Logger,
  ) {
    this.prefix = `a2a.events.${gatewayId.replace(/[^A-Za-z0-9_-]/g, '_')}.`;
  }

  start(): void {
    const sink: EventSink = {
      write: (events: readonly OutboundEvent[]) => {
        for (const event of events) {
          if (event.kind !== 'delivery') continue;
          const token = event.delivery.message.topic.slice(this.prefix.length);
          const listener = this.listeners.get(token);
          if (listener) listener(event.delivery.message);
        }
        return true;
      },
      onWritable: () => undefined,
      close: (error) => {
        if (error) this.logger.warn({ err: error }, 'the A2A agent-event session was closed by the router');
      },
    };
    this.session = this.router.openSession(sink, { caller: { peer: 'transport-a2a' } });
    this.session.subscribe({ pattern: `${this.prefix}>` });
  }

  /** A fresh topic for one task's events; `release` forgets it. */
  open(listener: AgentEventListener): { topic: string; release(): void } {
    const token = randomBytes(16).toString('hex');
    this.listeners.set(token, listener);
    return { topic: this.prefix + token, release: () => this.listeners.delete(token) };
  }

  get size(): number {
    return this.listeners.size;
  }

  stop(): void {
    this.listeners.clear();
    this.session?.close('transport-a2a stopped');
    this.session = undefined;
  }
}
