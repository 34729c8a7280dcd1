/**
 * One Subscribe stream kept alive: opened (waiting for the gateway's headers, which it sends once
 * the session is live), and reopened after a gateway restart or failover with capped exponential
 * backoff and jitter. `beforeOpen` runs before each reopen (the agent re-registers there).
 */
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import type { Event, SubscribeRequest } from '../proto/gen/openclaw/gateway/v1/gateway';
import { Backoff, sleep } from './backoff';
import type { GatewayConnection } from './connection';
import { fromServiceError, GatewayClientError, isRetryable } from './errors';

export interface SessionStreamHandlers {
  onEvent(event: Event): void;
  /** Runs before every (re)open; throwing a non-retryable error ends the stream. */
  beforeOpen?(reopen: boolean): Promise<void>;
  /** The stream ended for good (closed by the app, or a non-retryable error). */
  onEnd(error?: GatewayClientError): void;
  /** A live stream broke and will be reopened. */
  onInterrupted?(error: GatewayClientError): void;
  onOpen?(): void;
}

export class SessionStream {
  private call?: ClientReadableStream<Event>;
  private closed = false;
  private paused = false;
  private readonly abort = new AbortController();
  private interruptCurrent?: () => void;

  constructor(
    private readonly connection: GatewayConnection,
    private readonly request: SubscribeRequest,
    private readonly handlers: SessionStreamHandlers,
  ) {}

  /** Opens the stream; resolves when the session is live, rejects when the first open fails for good. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      let first = true;
      void this.run(
        () => {
          if (first) resolve();
          first = false;
        },
        (error) => {
          if (first) reject(error);
          first = false;
        },
      );
    });
  }

  pause(): void {
    this.paused = true;
    this.call?.pause();
  }

  resume(): void {
    this.paused = false;
    this.call?.resume();
  }

  /** Drops the current stream and opens a new one (e.g. the gateway forgot the agent). */
  reconnect(): void {
    this.interruptCurrent?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(new GatewayClientError('GW_CANCELLED', 1, 'the subscription was closed'));
    this.call?.cancel();
  }

  private async run(opened: () => void, failed: (error: GatewayClientError) => void): Promise<void> {
    const backoff = new Backoff(this.connection.backoffOptions);
    let reopen = false;
    while (!this.closed) {
      let failure: GatewayClientError;
      try {
        await this.handlers.beforeOpen?.(reopen);
        failure = await this.openOnce(() => {
          backoff.reset();
          opened();
          this.handlers.onOpen?.();
        });
      } catch (error) {
        failure =
          error instanceof GatewayClientError
            ? error
            : new GatewayClientError('GW_INTERNAL', 13, (error as Error).message, { cause: error });
      }
      if (this.closed) break;
      // A stream the gateway ended cleanly (OK) is reopened too: the agent still wants its session.
      if (failure.status !== 0 && !isRetryable(failure.status) && failure.code !== 'GW_DRAINING' && failure.code !== 'GW_NOT_FOUND') {
        this.closed = true;
        failed(failure);
        this.handlers.onEnd(failure);
        return;
      }
      this.handlers.onInterrupted?.(failure);
      if (failure.code !== 'GW_RESOURCE_EXHAUSTED') this.connection.failover();
      reopen = true;
      try {
        await sleep(backoff.next(), this.abort.signal);
      } catch {
        break;
      }
    }
    this.handlers.onEnd();
  }

  /** Resolves with why the stream ended (status 0 for a clean end). */
  private async openOnce(onLive: () => void): Promise<GatewayClientError> {
    const client = this.connection.current();
    const metadata = await this.connection.metadata();
    return new Promise((resolve) => {
      const call = client.subscribe(this.request, metadata);
      this.call = call;
      if (this.paused) call.pause();
      let settled = false;
      const settle = (error: GatewayClientError): void => {
        if (settled) return;
        settled = true;
        this.interruptCurrent = undefined;
        if (this.call === call) this.call = undefined;
        resolve(error);
      };
      this.interruptCurrent = () => {
        call.cancel();
        settle(new GatewayClientError('GW_UNAVAILABLE', 14, 'reconnecting'));
      };
      call.on('metadata', onLive);
      call.on('data', (event: Event) => this.handlers.onEvent(event));
      call.on('error', (error: ServiceError) => settle(fromServiceError(error)));
      call.on('end', () => settle(new GatewayClientError('GW_UNAVAILABLE', 0, 'the gateway ended the stream')));
      call.on('status', (status) => {
        if (status.code === 0) settle(new GatewayClientError('GW_UNAVAILABLE', 0, 'the gateway ended the stream'));
      });
    });
  }
}
