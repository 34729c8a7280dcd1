/**
 * Per-identity bounds: calls in flight and open SSE streams. The maps are keyed by identity and
 * drop an entry when its count returns to zero, so they never hold more identities than there
 * are calls in flight.
 */
import { GatewayError } from '../../kernel';

export interface LimitSettings {
  maxRequestsPerIdentity: number;
  maxStreams: number;
  maxStreamsPerIdentity: number;
}

export class A2aLimits {
  private readonly requests = new Map<string, number>();
  private readonly streams = new Map<string, number>();
  private openStreams = 0;

  constructor(
    private readonly settings: LimitSettings,
    private readonly onLimit: (limit: string) => void,
  ) {}

  get streamsOpen(): number {
    return this.openStreams;
  }

  /** Counts a call; the returned function ends it (once). */
  enterRequest(identity: string): () => void {
    const count = this.requests.get(identity) ?? 0;
    if (count >= this.settings.maxRequestsPerIdentity) {
      this.onLimit('maxRequestsPerIdentity');
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `"${identity}" has ${count} A2A calls in flight (maxRequestsPerIdentity); wait for some to finish`,
      );
    }
    this.requests.set(identity, count + 1);
    return once(() => decrement(this.requests, identity));
  }

  openStream(identity: string): () => void {
    if (this.openStreams >= this.settings.maxStreams) {
      this.onLimit('maxStreams');
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `the gateway has ${this.openStreams} A2A streams open (maxStreams); retry later or poll GetTask`,
      );
    }
    const count = this.streams.get(identity) ?? 0;
    if (count >= this.settings.maxStreamsPerIdentity) {
      this.onLimit('maxStreamsPerIdentity');
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `"${identity}" has ${count} A2A streams open (maxStreamsPerIdentity); close one or poll GetTask`,
      );
    }
    this.streams.set(identity, count + 1);
    this.openStreams++;
    return once(() => {
      this.openStreams--;
      decrement(this.streams, identity);
    });
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const count = (map.get(key) ?? 1) - 1;
  if (count <= 0) map.delete(key);
  else map.set(key, count);
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
