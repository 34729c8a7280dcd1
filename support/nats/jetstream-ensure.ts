/**
 * Creating JetStream streams, KV buckets and consumers so that any number of gateways may do it at
 * the same moment on a NATS cluster that is still electing its leaders (what systemd or
 * Kubernetes do when they start everything together).
 *
 * - Idempotent: an object that exists with the same settings is success; "already in use" from a
 *   concurrent creator is followed by a fresh look, not an error.
 * - Retried: timeouts, "JetStream temporarily unavailable" (no meta leader yet), no responders and
 *   peer placement errors are retried with capped, jittered exponential backoff, within
 *   `timeoutMs` in total (each attempt is cut to what is left of it).
 * - Explained: when the time is up, the error says which operation failed after how many attempts
 *   and how long, the last error, and what a direct probe of the JetStream API found (no JetStream,
 *   no leader yet, not answering, or answering and the failure specific to that object).
 *
 * Independent of the kernel: shared by registry-nats and router-nats.
 */
import type { ConsumerConfig, ConsumerInfo, JetStreamManager, NatsConnection, StreamConfig } from 'nats';

export interface JetStreamSetupOptions {
  /** Total time one creation (stream, bucket, consumer) may take, retries included. */
  timeoutMs: number;
  /** First retry delay; doubled per attempt up to `backoffMaxMs`, each drawn between half and all of it. */
  backoffMs: number;
  backoffMaxMs: number;
}

/** Plugin option schema fragment: `jetstreamSetup`. */
export const jetstreamSetupSchema = {
  jetstreamSetup: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000, default: 30_000 },
      backoffMs: { type: 'integer', minimum: 1, maximum: 60_000, default: 100 },
      backoffMaxMs: { type: 'integer', minimum: 1, maximum: 60_000, default: 2_000 },
    },
  },
} as const;

export const JETSTREAM_SETUP_DEFAULTS: JetStreamSetupOptions = { timeoutMs: 30_000, backoffMs: 100, backoffMaxMs: 2_000 };

const SETUP_ERROR = Symbol.for('openclaw.jetstream-setup-error');

/** The final failure of a creation; `message` is written for an operator. */
export class JetStreamSetupError extends Error {
  readonly [SETUP_ERROR] = true;
  constructor(
    message: string,
    readonly operation: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    readonly diagnosis: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JetStreamSetupError';
  }
}

export function isJetStreamSetupError(error: unknown): error is JetStreamSetupError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[SETUP_ERROR] === true;
}

interface NatsLikeError {
  code?: string;
  message?: string;
  api_error?: { code?: number; err_code?: number; description?: string };
}

// JetStream error codes worth another attempt: the cluster is forming or a concurrent creator won.
const RETRYABLE_ERR_CODES = new Set([
  10008, // JetStream system temporarily unavailable (no meta leader yet)
  10005, // no suitable peers for placement (peers not known yet)
  10023, // insufficient resources (peers not known yet)
  10058, // stream name already in use (a concurrent creator: look again)
  10013, // consumer name already in use
  10148, // consumer already exists
  10105, // consumer create race (durable exists)
]);

function describe(error: unknown): string {
  const e = error as NatsLikeError;
  const api = e?.api_error;
  if (api?.description) return `${api.description} (err_code ${api.err_code ?? '?'})`;
  if (e?.code === 'TIMEOUT') return 'TIMEOUT: no answer in time';
  if (e?.code === '503') return '503: no responders';
  return String(e?.message ?? error);
}

function isRetryable(error: unknown): boolean {
  const e = error as NatsLikeError;
  const errCode = e?.api_error?.err_code;
  if (errCode !== undefined) return RETRYABLE_ERR_CODES.has(errCode) || e.api_error?.code === 503 || e.api_error?.code === 500;
  if (e?.code === 'TIMEOUT' || e?.code === '503' || e?.code === '500') return true;
  return /timeout|temporarily unavailable|no responders|no suitable peers|insufficient resources|already in use/i.test(
    String(e?.message ?? ''),
  );
}

function isNotFound(error: unknown): boolean {
  const e = error as NatsLikeError;
  return e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || /not found/i.test(String(e?.message ?? ''));
}

function isAlreadyExists(error: unknown): boolean {
  const code = (error as NatsLikeError)?.api_error?.err_code;
  return (
    code === 10058 ||
    code === 10013 ||
    code === 10148 ||
    code === 10105 ||
    /already (in use|exists)/i.test(String((error as NatsLikeError)?.message ?? ''))
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

class AttemptTimeout extends Error {
  readonly code = 'TIMEOUT';
}

/** Races one attempt against what is left of the budget (a NATS request cannot be cancelled). */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AttemptTimeout('TIMEOUT: total JetStream setup time used up')), Math.max(1, ms));
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface RetryContext {
  nc: NatsConnection;
  options: JetStreamSetupOptions;
  /** Told about every failed attempt that will be retried (for a log line). */
  onRetry?: (info: { operation: string; attempt: number; delayMs: number; error: string }) => void;
}

/**
 * Runs `attempt` until it succeeds, a non-retryable error comes, or `timeoutMs` is used up; then
 * throws a JetStreamSetupError naming `operation`.
 */
export async function retryJetStream<T>(operation: string, ctx: RetryContext, attempt: () => Promise<T>): Promise<T> {
  const { timeoutMs, backoffMs, backoffMaxMs } = { ...JETSTREAM_SETUP_DEFAULTS, ...ctx.options };
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last: unknown;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      return await within(attempt(), deadline - Date.now());
    } catch (error) {
      last = error;
      if (ctx.nc.isClosed() || !isRetryable(error)) break;
      const ceiling = Math.min(backoffMaxMs, backoffMs * 2 ** Math.min(attempts - 1, 20));
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      if (Date.now() + delayMs >= deadline) break;
      ctx.onRetry?.({ operation, attempt: attempts, delayMs, error: describe(error) });
      await sleep(delayMs);
    }
  }
  const elapsedMs = Date.now() - started;
  const diagnosis = ctx.nc.isClosed() ? 'the NATS connection is closed' : await diagnoseJetStream(ctx.nc);
  const gaveUp = isRetryable(last)
    ? `failed ${attempts} time(s) over ${(elapsedMs / 1000).toFixed(1)} s (jetstreamSetup.timeoutMs ${timeoutMs})`
    : `failed with an error retrying cannot fix (attempt ${attempts})`;
  throw new JetStreamSetupError(
    `JetStream: ${operation} ${gaveUp}; last error: ${describe(last)}; ${diagnosis}`,
    operation,
    attempts,
    elapsedMs,
    diagnosis,
    { cause: last },
  );
}

/** One direct request to the JetStream API, put in words. */
export async function diagnoseJetStream(nc: NatsConnection, timeoutMs = 2_000): Promise<string> {
  // The server's INFO says whether it runs JetStream itself (a server without it may still relay
  // the API to cluster peers that do, so this is the first clue, not the answer).
  const server = nc.info;
  const local =
    server && server.jetstream !== true
      ? `the NATS server this gateway is connected to (${server.server_name ?? server.server_id}) has JetStream disabled (start it with -js or a jetstream {} block); `
      : '';
  try {
    const reply = await nc.request('$JS.API.INFO', undefined, { timeout: timeoutMs });
    const info = JSON.parse(new TextDecoder().decode(reply.data)) as {
      error?: { code?: number; err_code?: number; description?: string };
      streams?: number;
    };
    if (info.error) {
      if (local) return `${local}JetStream answers: ${info.error.description}`;
      if (info.error.err_code === 10008 || info.error.code === 503)
        return `JetStream is enabled but answers "${info.error.description}": the JetStream cluster has no leader yet (are a majority of the NATS servers up and routed to each other?)`;
      if (info.error.err_code === 10039 || /not enabled/i.test(info.error.description ?? ''))
        return `JetStream is not enabled for this account (${info.error.description})`;
      return `JetStream answers with an error: ${info.error.description} (err_code ${info.error.err_code})`;
    }
    if (local) return `${local}but JetStream answers through its cluster peers`;
    return `JetStream itself answers (account info ok, ${info.streams ?? 0} streams), so the failure is specific to this object (its settings, e.g. replicas above the number of NATS servers, or storage limits)`;
  } catch (error) {
    const code = (error as NatsLikeError).code;
    if (code === '503')
      return (
        local +
        'nothing answers the JetStream API on this NATS (nats-server without -js / no jetstream block, or JetStream not enabled for this account)'
      );
    if (code === 'TIMEOUT')
      return `${local}the JetStream API did not answer within ${timeoutMs} ms (a JetStream cluster still electing its meta leader, or overloaded)`;
    return `${local}the JetStream API could not be asked (${describe(error)})`;
  }
}

/** `nc.jetstreamManager()` (it asks for the account info, which fails while there is no leader). */
export function openJetStreamManager(ctx: RetryContext): Promise<JetStreamManager> {
  return retryJetStream('open the JetStream API (account info)', ctx, () => ctx.nc.jetstreamManager());
}

/** Creates the stream or brings an existing one to `config`; concurrent callers all succeed. */
export function ensureStream(ctx: RetryContext, jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  return retryJetStream(`create stream "${config.name}"`, ctx, async () => {
    try {
      await jsm.streams.info(config.name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // "already in use" means a concurrent creator won: retried, the next attempt finds the
      // stream and updates it (a no-op when the settings match).
      await jsm.streams.add(config);
      return;
    }
    // An update with equal settings is a no-op; with different ones it applies them.
    await jsm.streams.update(config.name, config);
  });
}

/**
 * Creates a durable consumer; one that exists on the same filter (created by another gateway, or
 * by an earlier attempt whose answer was lost) is success.
 */
export function ensureConsumer(
  ctx: RetryContext,
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<ConsumerInfo> {
  return retryJetStream(`create consumer "${config.durable_name}" on stream "${stream}"`, ctx, async () => {
    try {
      return await jsm.consumers.add(stream, config);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = await jsm.consumers.info(stream, config.durable_name);
      if (existing.config.filter_subject === config.filter_subject && existing.config.ack_policy === config.ack_policy) return existing;
      throw new Error(
        `consumer "${config.durable_name}" exists on stream "${stream}" with filter "${existing.config.filter_subject}" instead of "${config.filter_subject}"`,
        {
          cause: error,
        },
      );
    }
  });
}
