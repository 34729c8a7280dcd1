/**
 * W3C Trace Context (`traceparent`) for messages: a message without one starts a trace, and every
 * gateway hop gets its own span id so a trace shows each agent-to-agent hop. Random ids come from
 * a pooled buffer refilled in bulk, so a hop costs one string and no per-message crypto call.
 */
import { randomFillSync } from 'node:crypto';

export const TRACEPARENT = 'traceparent';
const TRACEPARENT_FORMAT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

export interface TraceParent {
  traceId: string;
  /** The span of the previous hop (the parent of this hop's span). */
  parentSpanId: string;
  flags: string;
}

/** Parses a traceparent; undefined for a malformed one or all-zero ids (the spec says restart). */
export function parseTraceparent(value: string | undefined): TraceParent | undefined {
  if (value === undefined || value.length < 55) return undefined;
  const match = TRACEPARENT_FORMAT.exec(value);
  if (!match || match[1] === 'ff') return undefined;
  // Version 00 has exactly four fields; later versions may append more.
  if (match[1] === '00' && match[5] !== undefined) return undefined;
  if (match[2] === ZERO_TRACE || match[3] === ZERO_SPAN) return undefined;
  return { traceId: match[2], parentSpanId: match[3], flags: match[4] };
}

export function formatTraceparent(traceId: string, spanId: string, flags: string): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

/** Pooled random ids: one `randomFillSync` per 256 spans instead of one per id. */
export class TraceIdSource {
  private readonly pool = Buffer.allocUnsafe(4096);
  private offset = this.pool.length;

  traceId(): string {
    return this.hex(16);
  }

  spanId(): string {
    return this.hex(8);
  }

  private hex(bytes: number): string {
    if (this.offset + bytes > this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const start = this.offset;
    this.offset += bytes;
    // An all-zero id is invalid; the odds are negligible but the fix is free.
    if (this.pool.readUInt32BE(start) === 0) this.pool[start] = 1;
    return this.pool.toString('hex', start, start + bytes);
  }
}
