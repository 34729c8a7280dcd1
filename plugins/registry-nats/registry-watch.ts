/**
 * The registry's KV watch, made to heal by itself. nats.js watches a bucket through an ephemeral
 * ordered consumer that lives on one JetStream server; when that server dies (or the stream's
 * leader moves) the consumer is gone and the client notices only after two missed 5 s idle
 * heartbeats, silently, and may give up for good if re-creating it fails while the stream has no
 * leader. So this watch checks, every `checkIntervalMs`, the stream's last sequence and leader:
 *
 * - the leader changed, JetStream answers again after it did not, or our connection came back
 *   (`restart('reconnect')`) → recreate the watcher at once, from the last revision we applied
 *   + 1 (no entry is missed or replayed);
 * - the stream holds revisions we have not seen and none arrived since the previous check →
 *   the watcher stalled: recreate it the same way;
 * - the watcher ended (an error from the client) → recreate it;
 * - the check itself fails (JetStream has no leader or does not answer) → the view is marked
 *   stale (`jetstream-unreachable`) until a check succeeds.
 *
 * A watcher is recreated only once the stream answers (it has a leader): asking for a consumer
 * while it has none waits out the client's 5 s request timeout for nothing. While a watcher is
 * being recreated the view is stale (`watch-resuming`) and kept as it was.
 * Every recreation is logged with its reason and counted in `registry_nats_watch_restarts_total`.
 * The bucket holds only agent keys (`a.*`), so the stream's last sequence is the watch's too.
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { JetStreamManager, KV, KvEntry, QueuedIterator } from 'nats';
import type { ViewFreshness } from './view-freshness';

export type WatchRestartReason = 'reconnect' | 'leader-change' | 'jetstream-back' | 'stalled' | 'ended';

export interface RegistryWatchContext {
  kv: KV;
  jsm: JetStreamManager;
  stream: string;
  logger: Logger;
  freshness: ViewFreshness;
  restarts: Counter<'reason'>;
  checkIntervalMs: number;
  apply(entry: KvEntry): void;
}

export class RegistryWatch {
  private watcher?: QueuedIterator<KvEntry>;
  /** Bumped for each watcher: entries still queued in a replaced one are not applied. */
  private generation = 0;
  /** Highest KV revision applied from a watcher; a new watcher starts right after it. */
  private lastRevision = 0;
  /** lastRevision when a check first saw the stream ahead of us; -1 while caught up. */
  private behindAt = -1;
  private knownLeader?: string;
  /** Why the current (missing) watcher is to be recreated; set while one is due or opening. */
  private pendingReason?: WatchRestartReason;
  private opening = false;
  private checking = false;
  /** A check was asked for while one ran: run another right after it. */
  private checkAgain = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly context: RegistryWatchContext) {}

  get revision(): number {
    return this.lastRevision;
  }

  /** Opens the first watcher; resolves once the bucket's current entries were applied. */
  async start(): Promise<void> {
    const { loaded } = await this.open(++this.generation);
    await loaded;
    this.timer = setInterval(() => this.kick(), this.context.checkIntervalMs);
    this.timer.unref();
    this.kick(); // learns the stream's leader now, so its first change is noticed
  }

  /** Drops the current watcher and opens a new one from the last applied revision + 1. */
  restart(reason: WatchRestartReason): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.watcher?.stop();
    this.watcher = undefined;
    this.behindAt = -1;
    this.pendingReason = reason;
    this.context.freshness.mark('watch-resuming', Date.now());
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.generation++;
    this.watcher?.stop();
    this.watcher = undefined;
  }

  private async reopen(generation: number): Promise<void> {
    if (this.opening) return; // the next check retries if this generation is not open by then
    this.opening = true;
    const reason = this.pendingReason ?? 'ended';
    const fromRevision = this.lastRevision + 1;
    try {
      const { loaded } = await this.open(generation);
      if (generation !== this.generation) return;
      this.pendingReason = undefined;
      this.context.restarts.inc({ reason });
      this.context.logger.warn({ reason, fromRevision }, 'registry KV watch recreated');
      void loaded.then(() => {
        if (generation === this.generation) this.context.freshness.clear('watch-resuming', Date.now());
      });
    } catch (error) {
      // JetStream cannot create the consumer yet (no leader): the next check tries again.
      this.context.logger.debug({ err: error, reason }, 'registry KV watch could not be recreated yet');
    } finally {
      this.opening = false;
    }
    // restart() was called again while this one was opening: check and open the newest now.
    if (generation !== this.generation && this.pendingReason !== undefined) this.kick();
  }

  /** Starts a watcher for `generation`; the promise it returns settles once it caught up. */
  private async open(generation: number): Promise<{ loaded: Promise<void> }> {
    let initialized!: () => void;
    const loaded = new Promise<void>((resolve) => (initialized = resolve));
    const watcher = await this.context.kv.watch({
      key: 'a.>',
      resumeFromRevision: this.lastRevision > 0 ? this.lastRevision + 1 : undefined,
      // Fires once the entries pending at creation were delivered (at once when none are).
      initializedFn: () => initialized(),
    });
    if (generation !== this.generation || this.stopped) {
      watcher.stop();
      return { loaded };
    }
    this.watcher = watcher;
    void this.consume(watcher, generation);
    return { loaded };
  }

  private async consume(watcher: QueuedIterator<KvEntry>, generation: number): Promise<void> {
    try {
      for await (const entry of watcher) {
        if (generation !== this.generation) break;
        if (entry.revision > this.lastRevision) this.lastRevision = entry.revision;
        this.context.apply(entry);
      }
    } catch (error) {
      if (!this.stopped) this.context.logger.warn({ err: error }, 'registry KV watch failed');
    }
    if (!this.stopped && generation === this.generation) this.restart('ended');
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.checking) this.checkAgain = true;
    else void this.check();
  }

  private async check(): Promise<void> {
    this.checking = true;
    try {
      const info = await this.context.jsm.streams.info(this.context.stream).catch(() => undefined);
      const now = Date.now();
      if (this.stopped) return;
      if (!info) {
        this.context.freshness.mark('jetstream-unreachable', now);
        return;
      }
      const wasUnreachable = this.context.freshness.has('jetstream-unreachable');
      this.context.freshness.clear('jetstream-unreachable', now);
      const leader = info.cluster?.leader;
      if (!this.watcher) {
        if (leader !== undefined) this.knownLeader = leader;
        if (this.pendingReason !== undefined) await this.reopen(this.generation);
        return;
      }
      if (wasUnreachable) {
        // Whatever happened meanwhile (a leader election), the consumer may not have survived it.
        this.knownLeader = leader;
        this.restart('jetstream-back');
        return;
      }
      if (leader !== undefined && this.knownLeader !== undefined && leader !== this.knownLeader) {
        this.knownLeader = leader;
        this.restart('leader-change');
        return;
      }
      if (leader !== undefined) this.knownLeader = leader;
      if (info.state.last_seq <= this.lastRevision) {
        this.behindAt = -1;
        this.context.freshness.clear('watch-resuming', now);
        return;
      }
      // Behind: fine if entries are still arriving, a stall if none did since the last check.
      if (this.behindAt === this.lastRevision) this.restart('stalled');
      else this.behindAt = this.lastRevision;
    } finally {
      this.checking = false;
      if (this.checkAgain) {
        this.checkAgain = false;
        this.kick();
      }
    }
  }
}
