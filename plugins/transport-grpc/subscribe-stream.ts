/**
 * One Subscribe stream: the agent's session. It is the router's EventSink (pre-encoded frames, grpc
 * backpressure passed through), binds the agent to the session in the registry so a dropped stream
 * marks the agent down at once, carries registry events when asked (bounded), and ends itself when
 * the caller's credential expires or a policy change takes its permissions away.
 */
import { randomUUID } from 'node:crypto';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import {
  GatewayError,
  Status,
  type EventSink,
  type Identity,
  type OutboundEvent,
  type RouterSession,
  type SubscriptionSpec,
} from '../../kernel';
import type { SubscribeRequest } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { toServiceError } from './error-status';
import type { EventEncoder } from './event-encoding';

/** setTimeout cannot wait longer than this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StreamHost {
  encoder: EventEncoder;
  maxRegistryEventsQueued: number;
  /** A registry event was dropped because this stream's queue was full. */
  registryEventDropped(stream: SubscribeStream): void;
  /** Called once when the stream ended, whatever the cause. */
  ended(stream: SubscribeStream, code: number): void;
}

export class SubscribeStream implements EventSink {
  readonly sessionId = randomUUID();
  readonly agentId: string;
  readonly wantsRegistryEvents: boolean;
  readonly specs: readonly SubscriptionSpec[];
  session?: RouterSession;
  private readonly frames: Buffer[] = [];
  private readonly pendingRegistry: Buffer[] = [];
  private writable = true;
  private ended = false;
  private expiryTimer?: NodeJS.Timeout;

  constructor(
    readonly call: ServerWritableStream<SubscribeRequest, Buffer>,
    readonly identity: Identity,
    readonly peer: string,
    private readonly host: StreamHost,
  ) {
    const request = call.request;
    this.agentId = request.agentId;
    this.wantsRegistryEvents = request.registryEvents;
    this.specs = request.topics.map((topic) =>
      topic.queueGroup ? { pattern: topic.pattern, queueGroup: topic.queueGroup } : { pattern: topic.pattern },
    );
    call.on('drain', () => {
      this.writable = true;
      this.flushRegistry();
    });
    const onGone = (): void => this.finish(Status.CANCELLED);
    call.on('cancelled', onGone);
    call.on('close', () => this.finish(Status.OK));
    call.on('finish', () => this.finish(Status.OK));
    call.on('error', () => undefined);
    if (identity.expiresAt !== undefined) {
      this.expiryTimer = setTimeout(() => this.expire(), Math.min(MAX_TIMER_MS, Math.max(0, identity.expiresAt - Date.now())));
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Tells the client the session is live (it waits for headers before publishing). */
  opened(): void {
    this.call.sendMetadata(new Metadata());
  }

  // EventSink ---------------------------------------------------------------------------------

  write(events: readonly OutboundEvent[]): boolean {
    if (this.ended) return false;
    const frames = this.frames;
    this.host.encoder.encode(events, frames);
    let ok = true;
    for (let i = 0; i < frames.length; i++) ok = this.call.write(frames[i]);
    frames.length = 0;
    if (!ok) this.writable = false;
    return ok;
  }

  onWritable(listener: () => void): void {
    this.call.on('drain', listener);
  }

  close(error?: GatewayError): void {
    this.end(error);
  }

  // Registry events ---------------------------------------------------------------------------

  pushRegistry(frame: Buffer): void {
    if (this.ended) return;
    if (this.writable && this.pendingRegistry.length === 0) {
      this.writable = this.call.write(frame);
      return;
    }
    if (this.pendingRegistry.length >= this.host.maxRegistryEventsQueued) {
      // Newest state matters most to a watcher: drop the oldest.
      this.pendingRegistry.shift();
      this.host.registryEventDropped(this);
    }
    this.pendingRegistry.push(frame);
  }

  private flushRegistry(): void {
    while (this.writable && this.pendingRegistry.length > 0 && !this.ended) {
      this.writable = this.call.write(this.pendingRegistry.shift()!);
    }
  }

  // Ending ------------------------------------------------------------------------------------

  /** Ends the stream: OK without an error, else with the error's status and `gw-error-code`. */
  end(error?: GatewayError): void {
    if (this.ended) return;
    if (error) this.call.emit('error', toServiceError(error));
    else this.call.end();
    this.finish(error ? error.status : Status.OK);
  }

  private expire(): void {
    this.end(new GatewayError('GW_UNAUTHENTICATED', `the credential of "${this.identity.id}" expired; reconnect with a fresh one`));
  }

  private finish(code: number): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.expiryTimer);
    this.pendingRegistry.length = 0;
    this.host.ended(this, code);
  }
}
