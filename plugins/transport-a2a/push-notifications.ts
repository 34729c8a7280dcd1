/**
 * Push notifications, delivered at least once: the configs a client registers for a task live in
 * lmdb beside the task (scoped like it: owner and URL), and every task event for a task with
 * configs is written to a durable outbox before anything is sent. A dispatcher POSTs the outbox
 * in order per (task, config), removing an entry only after a 2xx answer; failures are retried
 * with exponential backoff (`push.initialBackoffMs` doubling up to `push.maxBackoffMs`, with
 * jitter) up to `push.maxAttempts`, then dropped and counted. The outbox survives a restart.
 *
 * Bounds: `push.maxPending` entries (beyond it the oldest is dropped and counted),
 * `push.maxConfigsPerTask`, `push.maxInFlight` POSTs at once, `push.timeoutMs` per POST.
 * Webhook URLs are client input: unless `push.allowPrivateNetworks`, a URL whose host is or
 * resolves to a loopback, private or link-local address is refused when registered and when
 * delivered (DNS may change in between).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from 'pino';
import { StreamResponse, Task, TaskPushNotificationConfig } from '@a2a-js/sdk';
import {
  V1PushNotificationSerializer,
  type PushNotificationSender,
  type PushNotificationStore,
  type ServerCallContext,
  type StoredPushNotificationConfig,
} from '@a2a-js/sdk/server';
import { V03PushNotificationSerializer } from '@a2a-js/sdk/compat/v0_3/server';
import { GatewayError, isGatewayError } from '../../kernel';
import { scopeOf, type TaskScope } from './caller';

export interface PushOptions {
  enabled: boolean;
  maxPending: number;
  maxConfigsPerTask: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  maxInFlight: number;
  timeoutMs: number;
  allowPrivateNetworks: boolean;
}

interface StoredConfig {
  owner: string;
  target: string;
  wireVersion: string;
  config: unknown;
}

interface OutboxEntry {
  /** `taskId / configId`: entries of one destination are sent in order, one at a time. */
  destination: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  contentType: string;
  attempts: number;
  nextAt: number;
}

export interface PushCounters {
  delivered(): void;
  retried(): void;
  dropped(reason: 'attempts' | 'maxPending' | 'refused'): void;
}

export class PushConfigStore implements PushNotificationStore {
  constructor(
    private readonly configs: Database<StoredConfig, ConfigKey>,
    private readonly options: PushOptions,
  ) {}

  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    const scope = scopeOf(context);
    await checkUrl(config.url, this.options.allowPrivateNetworks);
    const id = config.id || randomUUID();
    const existing = this.entries(taskId, scope);
    if (!existing.some((entry) => entry.id === id) && existing.length >= this.options.maxConfigsPerTask) {
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `task "${taskId}" has ${existing.length} push configs (push.maxConfigsPerTask); delete one first`,
      );
    }
    config.id = id;
    await this.configs.put(configKey(taskId, id), {
      owner: scope.owner,
      target: scope.target,
      wireVersion: context.requestedVersion || '0.3',
      config: TaskPushNotificationConfig.toJSON({ ...config, taskId }),
    });
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    return (await this.loadWithMetadata(taskId, context)).map((stored) => stored.config);
  }

  async loadWithMetadata(taskId: string, context: ServerCallContext): Promise<StoredPushNotificationConfig[]> {
    return this.stored(taskId, scopeOf(context));
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    const scope = scopeOf(context);
    for (const config of this.entries(taskId, scope)) {
      if (configId === undefined || config.id === configId) await this.configs.remove(configKey(taskId, config.id));
    }
  }

  /** Every config of a task, whoever owns it (the task store removes them with the task). */
  removeAll(taskId: string): void {
    for (const { key } of this.configs.getRange(rangeOf(taskId))) void this.configs.remove(key);
  }

  stored(taskId: string, scope: TaskScope): StoredPushNotificationConfig[] {
    const found: StoredPushNotificationConfig[] = [];
    for (const { value } of this.configs.getRange(rangeOf(taskId))) {
      if (value.owner === scope.owner && value.target === scope.target)
        found.push({ config: TaskPushNotificationConfig.fromJSON(value.config), wireVersion: value.wireVersion });
    }
    return found;
  }

  private entries(taskId: string, scope: TaskScope): TaskPushNotificationConfig[] {
    return this.stored(taskId, scope).map((stored) => stored.config);
  }
}

export class DurablePushSender implements PushNotificationSender {
  private readonly v1 = new V1PushNotificationSerializer();
  private readonly v03 = new V03PushNotificationSerializer();
  private sequence = 0;
  private count = 0;
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly root: RootDatabase,
    private readonly outbox: Database<OutboxEntry, number>,
    private readonly configs: PushConfigStore,
    private readonly options: PushOptions,
    private readonly counters: PushCounters,
    private readonly logger: Logger,
  ) {}

  get pending(): number {
    return this.count;
  }

  start(): void {
    this.count = 0;
    for (const key of this.outbox.getKeys()) {
      this.count++;
      this.sequence = Math.max(this.sequence, key);
    }
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Called by the SDK for every task event: written to the outbox before this resolves. */
  async send(event: StreamResponse, context: ServerCallContext, task?: Task): Promise<void> {
    if (this.stopped) return;
    const payload = event.payload;
    if (!payload) return;
    const taskId = payload.$case === 'task' ? payload.value.id : payload.value.taskId;
    if (!taskId) return;
    const configs = this.configs.stored(taskId, scopeOf(context));
    if (configs.length === 0) return;
    await this.root.transaction(() => {
      for (const { config, wireVersion } of configs) {
        const { body, contentType } = (wireVersion === '1.0' ? this.v1 : this.v03).serialize(event, task);
        const headers: Record<string, string> = {};
        if (config.authentication?.scheme && config.authentication.credentials)
          headers.authorization = `${config.authentication.scheme} ${config.authentication.credentials}`;
        else if (config.token) headers['x-a2a-notification-token'] = config.token;
        void this.outbox.put(++this.sequence, {
          destination: `${taskId}/${config.id}`,
          url: config.url,
          headers,
          body,
          contentType,
          attempts: 0,
          nextAt: 0,
        });
        this.count++;
      }
    });
    await this.trim();
    this.schedule(0);
  }

  /** Over the bound, the oldest entries go first. */
  private async trim(): Promise<void> {
    while (this.count > this.options.maxPending) {
      let oldest: number | undefined;
      for (const key of this.outbox.getKeys({ limit: 1 })) oldest = key;
      if (oldest === undefined) break;
      await this.outbox.remove(oldest);
      this.count--;
      this.counters.dropped('maxPending');
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), Math.max(0, delayMs));
    this.timer.unref();
  }

  /** Sends every due head of a destination, up to maxInFlight; sleeps until the next due one. */
  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    const heads = new Set<string>();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const { key, value } of this.outbox.getRange()) {
      if (heads.has(value.destination)) continue;
      heads.add(value.destination);
      if (this.busy.has(value.destination)) continue;
      if (value.nextAt > now) {
        nextDue = Math.min(nextDue, value.nextAt);
        continue;
      }
      if (this.inFlight >= this.options.maxInFlight) break;
      this.deliver(key, value);
    }
    if (Number.isFinite(nextDue)) this.schedule(nextDue - now);
  }

  private deliver(key: number, entry: OutboxEntry): void {
    this.busy.add(entry.destination);
    this.inFlight++;
    void this.post(entry)
      .then(
        async () => {
          await this.outbox.remove(key);
          this.count--;
          this.counters.delivered();
        },
        async (error: unknown) => {
          const attempts = entry.attempts + 1;
          if (isGatewayError(error) || attempts >= this.options.maxAttempts) {
            await this.outbox.remove(key);
            this.count--;
            this.counters.dropped(isGatewayError(error) ? 'refused' : 'attempts');
            this.logger.warn({ url: entry.url, attempts, err: error }, 'A2A push notification dropped');
            return;
          }
          const backoff = Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** (attempts - 1));
          await this.outbox.put(key, { ...entry, attempts, nextAt: Date.now() + backoff / 2 + Math.random() * (backoff / 2) });
          this.counters.retried();
        },
      )
      .catch((error: unknown) => this.logger.warn({ err: error }, 'A2A push outbox update failed'))
      .finally(() => {
        this.busy.delete(entry.destination);
        this.inFlight--;
        this.schedule(0);
      });
  }

  private async post(entry: OutboxEntry): Promise<void> {
    await checkUrl(entry.url, this.options.allowPrivateNetworks);
    const response = await fetch(entry.url, {
      method: 'POST',
      headers: { 'content-type': entry.contentType, ...entry.headers },
      body: entry.body,
      signal: AbortSignal.timeout(this.options.timeoutMs),
      redirect: 'error',
    });
    await response.body?.cancel().catch(() => undefined);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  }
}

/** lmdb orders array keys element by element: all configs of a task are one range. */
type ConfigKey = [string, string];

function configKey(taskId: string, configId: string): ConfigKey {
  return [taskId, configId];
}

function rangeOf(taskId: string): { start: ConfigKey; end: ConfigKey } {
  return { start: [taskId, ''], end: [taskId, '\uffff'] };
}

/** Refuses webhook URLs that reach into the gateway's own networks (unless allowed). */
async function checkUrl(url: string, allowPrivate: boolean): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GatewayError('GW_INVALID_ARGUMENT', `push notification url: "${url.slice(0, 128)}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new GatewayError('GW_INVALID_ARGUMENT', 'push notification url: must be http or https');
  if (allowPrivate) return;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((entry) => entry.address);
  if (addresses.length === 0) throw new GatewayError('GW_INVALID_ARGUMENT', `push notification url: host "${host}" does not resolve`);
  const inside = addresses.find(isPrivateAddress);
  if (inside)
    throw new GatewayError(
      'GW_PERMISSION_DENIED',
      `push notification url: "${host}" is a private address (${inside}); set push.allowPrivateNetworks to allow it`,
    );
}

function isPrivateAddress(address: string): boolean {
  if (address === '::1' || address === '::' || /^f[cd]/i.test(address) || /^fe[89ab]/i.test(address)) return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  const parts = v4.split('.').map(Number);
  if (parts.length !== 4) return false;
  const [a, b] = parts as [number, number];
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}
