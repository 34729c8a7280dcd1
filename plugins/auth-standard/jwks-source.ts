/**
 * A JSON Web Key Set from a file or a URL, kept in memory and reloaded (a) periodically, to pick up
 * rotations that remove keys, and (b) when a token names an unknown `kid`, to pick up new keys at
 * once. Reloads are single-flight and at most one per cooldown, so a flood of tokens with made-up
 * `kid`s costs at most one fetch per cooldown, never a fetch storm against the identity provider.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import {
  createLocalJWKSet,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type KeyLike,
} from 'jose';
import { GatewayError } from '../../kernel';

export interface JwksSourceOptions {
  file?: string;
  url?: string;
  cooldownMs: number;
  /** How often the set is re-read regardless of misses (URL), or the file is stat'ed (file). */
  refreshIntervalMs: number;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
  /** A reload brought different keys (tokens verified with the old set must be re-verified). */
  onChange(): void;
  onReload(outcome: 'changed' | 'unchanged' | 'failed', error?: Error): void;
}

type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<KeyLike>;

export class JwksSource {
  private resolver?: ReturnType<typeof createLocalJWKSet>;
  private contentHash = '';
  private fileStamp = '';
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private inFlight?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private fetches = 0;

  constructor(private readonly options: JwksSourceOptions) {}

  /** Number of loads attempted (for tests and the metric). */
  loadCount(): number {
    return this.fetches;
  }

  /** Loads once; a failure is thrown so a missing JWKS file stops the gateway from starting. */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.periodicCheck(), this.options.refreshIntervalMs);
    this.timer.unref();
    this.options.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The key resolver jose's `jwtVerify` calls. */
  readonly getKey: KeyResolver = async (header, token) => {
    if (!this.resolver) await this.reloadIfCooledDown();
    if (!this.resolver) throw new GatewayError('GW_UNAVAILABLE', 'the JWT key set is not loaded yet; retry shortly');
    try {
      return await this.resolver(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      const reloaded = await this.reloadIfCooledDown();
      if (!reloaded) throw error;
      return this.resolver(header, token);
    }
  };

  /** Reloads unless one ran within the cooldown; resolves true when a reload ran (or was joined). */
  private async reloadIfCooledDown(): Promise<boolean> {
    if (this.inFlight) {
      await this.inFlight;
      return true;
    }
    if (Date.now() - this.lastAttemptAt < this.options.cooldownMs) return false;
    try {
      await this.reload();
    } catch {
      // Already reported through onReload; the caller fails with the original "no matching key".
    }
    return true;
  }

  private async periodicCheck(): Promise<void> {
    try {
      if (this.options.file) {
        const info = await stat(this.options.file);
        if (`${info.mtimeMs}:${info.size}:${info.ino}` === this.fileStamp) return;
      }
      await this.reload();
    } catch {
      // Reported through onReload; the last good key set stays in use.
    }
  }

  private reload(): Promise<void> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async load(): Promise<void> {
    this.lastAttemptAt = Date.now();
    this.fetches++;
    try {
      const text = this.options.file ? await this.readFromFile(this.options.file) : await this.fetchFromUrl(this.options.url!);
      const hash = createHash('sha256').update(text).digest('hex');
      if (hash === this.contentHash) {
        this.options.onReload('unchanged');
        return;
      }
      const jwks = parseJwks(text, this.options.file ?? this.options.url!);
      this.resolver = createLocalJWKSet(jwks);
      const hadKeys = this.contentHash !== '';
      this.contentHash = hash;
      this.options.onReload('changed');
      if (hadKeys) this.options.onChange();
    } catch (error) {
      this.options.onReload('failed', error as Error);
      throw error;
    }
  }

  private async readFromFile(file: string): Promise<string> {
    const info = await stat(file);
    if (info.size > this.options.maxBytes) throw new Error(`JWKS file ${file} is larger than jwksMaxBytes (${this.options.maxBytes})`);
    this.fileStamp = `${info.mtimeMs}:${info.size}:${info.ino}`;
    return readFile(file, 'utf8');
  }

  private async fetchFromUrl(url: string): Promise<string> {
    const response = await fetch(url, {
      signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.options.signal]),
      headers: { accept: 'application/jwk-set+json, application/json' },
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`JWKS fetch from ${url} failed: HTTP ${response.status}`);
    if (!response.body) throw new Error(`JWKS fetch from ${url} returned no body`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > this.options.maxBytes) throw new Error(`JWKS from ${url} is larger than jwksMaxBytes (${this.options.maxBytes})`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

function parseJwks(text: string, from: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`JWKS from ${from} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.some((key) => !key || typeof key !== 'object' || typeof (key as { kty?: unknown }).kty !== 'string')) {
    throw new Error(`JWKS from ${from} must be {"keys": [ {"kty": ...}, ... ]}`);
  }
  // Private or symmetric material has no business in a verification key set.
  for (const key of keys as Array<Record<string, unknown>>) {
    if (key.kty === 'oct' || key.d !== undefined)
      throw new Error(`JWKS from ${from} contains a private or symmetric key (kid "${String(key.kid)}")`);
  }
  return parsed as JSONWebKeySet;
}
