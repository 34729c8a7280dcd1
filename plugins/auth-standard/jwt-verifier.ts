/**
 * Bearer tokens: verified with jose against the configured key set, algorithm allow-list, issuer
 * and audience, with `exp` required. Verified tokens are remembered in a bounded LRU until their
 * `exp`, so a busy agent's calls cost one map lookup instead of one signature check each.
 */
import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { GatewayError, isGatewayError, type Identity } from '../../kernel';
import type { JwksSource } from './jwks-source';
import type { JwtOptions } from './schema';

export class JwtVerifier {
  private readonly cache: LRUCache<string, Identity>;

  constructor(
    private readonly options: JwtOptions,
    private readonly keys: JwksSource,
    onEvict: () => void,
  ) {
    this.cache = new LRUCache({
      max: options.cacheMaxEntries,
      ttlAutopurge: false,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') onEvict();
      },
    });
  }

  size(): number {
    return this.cache.size;
  }

  /** Forget every verified token (the key set changed: a removed key must stop working now). */
  clear(): void {
    this.cache.clear();
  }

  async verify(token: string, now = Date.now()): Promise<Identity> {
    const cached = this.cache.get(token);
    if (cached !== undefined && cached.expiresAt! > now) return cached;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.keys.getKey, {
        algorithms: this.options.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSec,
        requiredClaims: ['exp'],
        currentDate: new Date(now),
      }));
    } catch (error) {
      throw this.describe(error, token);
    }
    const subject = payload[this.options.identityClaim];
    if (typeof subject !== 'string' || subject.length === 0) {
      throw new GatewayError('GW_UNAUTHENTICATED', `bearer token has no string "${this.options.identityClaim}" claim to name the identity`);
    }
    const expiresAt = (payload.exp as number) * 1000;
    const identity: Identity = Object.freeze({ id: subject, method: 'jwt', claims: Object.freeze(payload), expiresAt });
    if (expiresAt > now) this.cache.set(token, identity, { ttl: expiresAt - now });
    return identity;
  }

  private describe(error: unknown, token: string): GatewayError {
    if (isGatewayError(error)) return error;
    let header: { alg?: string; kid?: string } = {};
    try {
      header = decodeProtectedHeader(token);
    } catch {
      // Malformed header: reported below as a malformed token.
    }
    let reason: string;
    if (error instanceof joseErrors.JWTExpired) {
      reason = `bearer token expired (exp ${isoTime(error.payload.exp)}); get a new token`;
    } else if (error instanceof joseErrors.JWTClaimValidationFailed) {
      reason = `bearer token claim "${error.claim}" is not accepted: ${error.message}`;
    } else if (error instanceof joseErrors.JOSEAlgNotAllowed) {
      reason = `bearer token algorithm "${header.alg ?? '?'}" is not allowed (allowed: ${this.options.algorithms.join(', ')})`;
    } else if (error instanceof joseErrors.JWKSNoMatchingKey) {
      reason = `no key in the key set matches the bearer token (kid "${header.kid ?? 'none'}", alg "${header.alg ?? '?'}")`;
    } else if (error instanceof joseErrors.JWKSMultipleMatchingKeys) {
      reason = 'several keys match the bearer token; it must name its key with "kid"';
    } else if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      reason = 'bearer token signature is invalid';
    } else if (error instanceof joseErrors.JOSEError) {
      reason = `bearer token is malformed: ${error.message}`;
    } else {
      reason = `bearer token could not be verified: ${(error as Error).message}`;
    }
    return new GatewayError('GW_UNAUTHENTICATED', reason, { cause: error });
  }
}

function isoTime(seconds: unknown): string {
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : String(seconds);
}

/** The token of an `authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(metadata: Readonly<Record<string, string>>): string | undefined {
  const header = metadata.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  if (!match) {
    throw new GatewayError('GW_UNAUTHENTICATED', 'metadata "authorization" must be "Bearer <token>"', { field: 'metadata.authorization' });
  }
  return match[1];
}
