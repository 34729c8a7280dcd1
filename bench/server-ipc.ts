/**
 * The child side of a server under test: answers the harness with its own CPU time and memory,
 * so "CPU per operation" is the server's alone, never the load generators'.
 */
import { readFileSync } from 'node:fs';
import { announceReady, serveCommands } from './ipc';

export interface ServerStats {
  /** Microseconds of user + system CPU this process has used so far. */
  cpuMicros: number;
  rssBytes: number;
  /**
   * Anonymous resident memory (heap, buffers, native allocations: `RssAnon` in /proc), without
   * the file-backed pages of lmdb's memory map, which the kernel can drop at any time. RSS
   * elsewhere than Linux.
   */
  anonBytes: number;
  heapUsedBytes: number;
  /** The sampling instant, hrtime in ms (for deltas only). */
  atMs: number;
}

export interface ServerReady {
  type: 'ready';
  address: string;
  /** ms from process start (performance.timeOrigin) to ready, module loading included. */
  readyAtMs: number;
  /** ms the server itself took to load its config and start (for the gateway: startGateway). */
  startMs: number;
}

export function sampleStats(): ServerStats {
  const cpu = process.cpuUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    rssBytes: process.memoryUsage.rss(),
    anonBytes: anonymousBytes(),
    heapUsedBytes: process.memoryUsage().heapUsed,
    atMs: Number(process.hrtime.bigint()) / 1e6,
  };
}

function anonymousBytes(): number {
  try {
    const kib = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib) return Number(kib) * 1024;
  } catch {
    // Not Linux: fall through.
  }
  return process.memoryUsage.rss();
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice: the first pass runs finalizers whose objects only the second one frees.
  gc?.();
  gc?.();
}

/** Reports readiness, then serves `stats` and `stop` until stopped or orphaned. */
export function serveHarness(ready: Omit<ServerReady, 'type' | 'readyAtMs'>, stop: () => Promise<void>): void {
  serveCommands({
    stats: (args?: { gc?: boolean }) => {
      if (args?.gc) collectGarbage();
      return sampleStats();
    },
    stop: async () => {
      await stop();
      setImmediate(() => process.exit(0));
      return true;
    },
  });
  announceReady({ ...ready, readyAtMs: performance.now() });
}

export { failStartup } from './ipc';
