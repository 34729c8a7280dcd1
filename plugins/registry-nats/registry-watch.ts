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
 * - the check itself fails twice running (JetStream has no leader or does not answer; one slow
 *   answer on a loaded machine is not worth a log line) → the view is marked stale
 *   (`jetstream-unreachable`) until a check succeeds.
 *
 * Creating a consumer needs the stream's and the cluster's meta leader, and an election can take
 * 5-15 s; until a watcher is back the changes it missed are read from any replica with direct
 * gets (next message after the last revision applied), at most MAX_POLLED_PER_CHECK per check, so
 * a new agent shows up within a check or two even while no watcher can be made
 * (`registry_nats_watch_polled_total`).
 *
 * A watcher is recreated only once the stream answers (it has a leader): asking for a consumer
 * while it has none waits out the client's 5 s request timeout for nothing. While a watcher is
 * being recreated the view is stale (`watch-resuming`) and kept as it was.
 * Every recreation is logged with its reason and counted in `registry_nats_watch_restarts_total`.
 * The bucket holds only agent keys (`a.*`), so the stream's last sequence is the watch's too.
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { JetStreamManager, KV, KvEntry, NatsConnection, QueuedIterator } from 'nats';
import type { ViewFreshness } from './view-freshness';

export type WatchRestartReason = 'reconnect' | 'leader-change' | 'jetstream-back' | 'stalled' | 'ended';

/** One change of the bucket, from the watcher or read directly. */
export type KvChange = Pick<KvEntry, 'key' | 'operation' | 'value' | 'revision'>;

/** Entries read directly per check while the watcher is missing or stalled; the rest next check. */
export const MAX_POLLED_PER_CHECK = 256;
/** Stream-info checks that must fail in a row before JetStream counts as unreachable. */
const UNREACHABLE_AFTER_FAILED_CHECKS = 2;

export interface RegistryWatchContext {
  kv: KV;
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** For the checks' own requests: shorter than the client's 5 s, so one check never waits long. */
  requestTimeoutMs: number;
  bucket: string;
  logger: Logger;
  freshness: ViewFreshness;
  restarts: Counter<'reason'>;
  polled: Counter<string>;
  checkIntervalMs: number;
  apply(change: KvChange): void;
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
  private failedChecks = 0;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  private readonly stream: string;
  private readonly agentSubjects: string;
  private readonly keyOffset: number;

  constructor(private readonly context: RegistryWatchContext) {
    this.stream = `KV_${context.bucket}`;
    this.agentSubjects = `$KV.${context.bucket}.a.>`;
    this.keyOffset = `$KV.${context.bucket}.`.length;
  }

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
    this.generation++;
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
        this.deliver(entry);
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

  /** In stream order, once: a revision already applied (read directly, or replayed) is skipped. */
  private deliver(change: KvChange): void {
    if (change.revision <= this.lastRevision) return;
    this.lastRevision = change.revision;
    this.context.apply(change);
  }

  private async check(): Promise<void> {
    this.checking = true;
    try {
      const info = await this.context.jsm.streams.info(this.stream).catch(() => undefined);
      const now = Date.now();
      if (this.stopped) return;
      if (info) {
        const wasUnreachable = this.context.freshness.has('jetstream-unreachable');
        this.context.freshness.clear('jetstream-unreachable', now);
        const leader = info.cluster?.leader;
        const moved = leader !== undefined && this.knownLeader !== undefined && leader !== this.knownLeader;
        if (leader !== undefined) this.knownLeader = leader;
        // After an election (seen, or hidden behind a silence) the consumer may be gone with its server.
        if (this.watcher && (moved || wasUnreachable)) this.restart(moved ? 'leader-change' : 'jetstream-back');
        else if (!this.watcher && this.pendingReason !== undefined) await this.reopen(this.generation);
        this.failedChecks = 0;
      } else if (++this.failedChecks >= UNREACHABLE_AFTER_FAILED_CHECKS) {
        this.context.freshness.mark('jetstream-unreachable', now);
      }
      if (!this.stopped) await this.catchUp();
    } finally {
      this.checking = false;
      if (this.checkAgain) {
        this.checkAgain = false;
        this.kick();
      }
    }
  }

  /** Changes the stream holds and we have not applied: give a watcher one interval, then read them. */
  private async catchUp(): Promise<void> {
    let next = await this.nextUnseen();
    if (next === undefined) return; // no replica answered: nothing to learn this time
    if (next === null) {
      this.behindAt = -1;
      if (this.watcher) this.context.freshness.clear('watch-resuming', Date.now());
      return;
    }
    if (this.watcher && this.behindAt !== this.lastRevision) {
      this.behindAt = this.lastRevision;
      return;
    }
    if (this.watcher) this.restart('stalled');
    let polled = 0;
    while (next && polled < MAX_POLLED_PER_CHECK && !this.stopped) {
      this.deliver(next);
      polled++;
      next = await this.nextUnseen();
    }
    this.context.polled.inc(polled);
    this.context.logger.debug({ polled, revision: this.lastRevision }, 'registry changes read directly while the KV watch resumes');
  }

  /**
   * The first agent-key message after the last applied revision, from any replica: a JetStream
   * direct get (`$JS.API.DIRECT.GET.<stream>`, public protocol; nats.js keeps its client for it
   * off the public types). null when there is none, undefined when nobody answered.
   */
  private async nextUnseen(): Promise<KvChange | null | undefined> {
    const request = JSON.stringify({ seq: this.lastRevision + 1, next_by_subj: this.agentSubjects });
    const reply = await this.context.nc
      .request(`$JS.API.DIRECT.GET.${this.stream}`, request, { timeout: this.context.requestTimeoutMs })
      .catch(() => undefined);
    if (!reply) return undefined;
    const headers = reply.headers;
    if (!headers) return undefined;
    if (headers.code === 404) return null;
    const subject = headers.get('Nats-Subject');
    const sequence = Number(headers.get('Nats-Sequence'));
    if (headers.code >= 300 || subject === '' || !Number.isSafeInteger(sequence)) return undefined;
    const operation = headers.get('KV-Operation');
    return {
      key: subject.slice(this.keyOffset),
      operation: operation === 'DEL' || operation === 'PURGE' ? operation : 'PUT',
      value: reply.data,
      revision: sequence,
    };
  }
}
