/**
 * Agent stdout/stderr into the gateway's log, one log line per agent line, tagged
 * `{agentId, stream}`. Bounded both ways: a line longer than `maxLineBytes` is cut there (the rest
 * of it discarded up to the newline) and logged with `truncated: true`; at most
 * `maxLinesPerSecond` lines per instance (both streams together) are logged, the rest dropped,
 * counted in a metric and summed up in one warning per second. Nothing is buffered beyond one
 * partial line per stream.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { LogOptions } from './schema';
import type { SupervisorMetrics } from './supervisor-metrics';

const NEWLINE = 0x0a;

export class OutputCapture {
  private windowStart = 0;
  private linesInWindow = 0;
  private droppedInWindow = 0;
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly agentId: string,
    private readonly logger: Logger,
    private readonly options: LogOptions,
    private readonly metrics: SupervisorMetrics,
  ) {}

  attach(stream: Readable | null, name: 'stdout' | 'stderr'): void {
    if (!stream) return;
    const log = this.logger.child({ agentId: this.agentId, stream: name });
    const level = name === 'stderr' ? 'warn' : 'info';
    const max = this.options.maxLineBytes;
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let discarding = false;
    const emit = (line: Buffer, truncated: boolean) => {
      if (!this.admit()) return;
      const text = line.toString('utf8').replace(/\r$/, '');
      if (truncated) {
        this.metrics.lineTruncated();
        log[level]({ truncated: true }, text);
      } else {
        log[level](text);
      }
    };
    stream.on('data', (chunk: Buffer) => {
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(NEWLINE, start);
        const end = newline === -1 ? chunk.length : newline;
        if (!discarding) {
          const room = max - partialBytes;
          const piece = chunk.subarray(start, Math.min(end, start + room));
          if (piece.length > 0) {
            partial.push(piece);
            partialBytes += piece.length;
          }
          if (end - start > room) {
            emit(Buffer.concat(partial), true);
            partial = [];
            partialBytes = 0;
            discarding = true;
          }
        }
        if (newline === -1) break;
        if (!discarding) emit(Buffer.concat(partial), false);
        partial = [];
        partialBytes = 0;
        discarding = false;
        start = newline + 1;
      }
    });
    stream.on('end', () => {
      if (partialBytes > 0 && !discarding) emit(Buffer.concat(partial), false);
      partial = [];
      partialBytes = 0;
    });
    // An EPIPE or the like on an agent's pipe must never take the gateway down.
    stream.on('error', () => undefined);
  }

  /** The per-second window: true when one more line may be logged. */
  private admit(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.flushDropped();
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow < this.options.maxLinesPerSecond) {
      this.linesInWindow++;
      return true;
    }
    this.droppedInWindow++;
    this.metrics.linesDropped(1);
    if (!this.flushTimer) {
      // The warning comes at the end of the window even when the agent falls silent after a burst.
      this.flushTimer = setTimeout(() => this.flushDropped(), Math.max(0, this.windowStart + 1000 - now));
      this.flushTimer.unref();
    }
    return false;
  }

  /** Says how many lines the last window dropped (also called when the process exits). */
  flushDropped(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.droppedInWindow === 0) return;
    this.logger.warn(
      { agentId: this.agentId, dropped: this.droppedInWindow, limit: this.options.maxLinesPerSecond },
      `managed agent ${this.agentId}: ${this.droppedInWindow} output line(s) dropped (over ${this.options.maxLinesPerSecond} lines/s)`,
    );
    this.droppedInWindow = 0;
  }
}
