import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import type { AuthRequest, AuthService, Gateway } from '../../kernel';
import { eventually, rejectionOf, startAuthOnly, tempDir } from './harness';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'openclaw-gateway';

interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  publicKey: KeyLike;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

function jwks(...keys: SigningKey[]): string {
  return JSON.stringify({ keys: keys.map((key) => key.jwk) });
}

interface TokenSpec {
  key: SigningKey;
  sub?: string;
  issuer?: string;
  audience?: string;
  expiresInSec?: number | null;
  notBeforeSec?: number;
  claims?: Record<string, unknown>;
  kid?: string;
}

async function token(spec: TokenSpec): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...(spec.claims ?? {}) })
    .setProtectedHeader({ alg: 'RS256', kid: spec.kid ?? spec.key.kid })
    .setSubject(spec.sub ?? 'agent-7')
    .setIssuer(spec.issuer ?? ISSUER)
    .setAudience(spec.audience ?? AUDIENCE)
    .setIssuedAt(now);
  if (spec.expiresInSec !== null) jwt.setExpirationTime(now + (spec.expiresInSec ?? 600));
  if (spec.notBeforeSec !== undefined) jwt.setNotBefore(now + spec.notBeforeSec);
  return jwt.sign(spec.key.privateKey);
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const call = (bearer: string | undefined, peer = 'ipv4:127.0.0.1:40000'): AuthRequest => ({
  metadata: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  peer,
  method: '/openclaw.gateway.v1.GatewayService/Discover',
});

describe('auth-standard JWT bearer tokens (JWKS file)', () => {
  let dir: string;
  let gateway: Gateway;
  let auth: AuthService;
  let first: SigningKey;
  let second: SigningKey;
  const failures: string[] = [];

  beforeAll(async () => {
    dir = tempDir();
    first = await signingKey('key-1');
    second = await signingKey('key-2');
    writeFileSync(path.join(dir, 'jwks.json'), jwks(first));
    ({ gateway, auth } = await startAuthOnly(
      {
        jwt: { jwksFile: 'jwks.json', issuer: ISSUER, audience: AUDIENCE, clockToleranceSec: 5, jwksCooldownMs: 200 },
        statIntervalMs: 60_000, // rotation must be found through the unknown-kid reload, not the stat
        failureLimit: { maxFailures: 1000 },
      },
      dir,
    ));
    gateway.hooks.authFailed.tap('jwt-test', (failure) => void failures.push(failure.reason));
  });
  afterAll(() => gateway.stop());

  test('a valid token yields its subject as identity, exp as expiresAt, and is cached', async () => {
    const bearer = await token({ key: first, claims: { groups: ['ops'] } });
    const identity = await auth.authenticate(call(bearer));
    expect(identity.id).toBe('agent-7');
    expect(identity.method).toBe('jwt');
    expect(identity.claims.groups).toEqual(['ops']);
    const exp = JSON.parse(Buffer.from(bearer.split('.')[1], 'base64url').toString()).exp as number;
    expect(identity.expiresAt).toBe(exp * 1000);
    expect(await auth.authenticate(call(bearer))).toBe(identity);
  });

  test('alg "none" is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'agent-7', iss: ISSUER, aud: AUDIENCE, exp: now + 600 })}.`;
    const error = await rejectionOf(auth.authenticate(call(unsigned)));
    expect(error.code).toBe('GW_UNAUTHENTICATED');
    expect(error.message).toContain('algorithm "none" is not allowed');
  });

  test('HS256 signed with the RSA public key (algorithm confusion) is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: first.kid })}.${b64({ sub: 'agent-7', iss: ISSUER, aud: AUDIENCE, exp: now + 600 })}`;
    const publicPem = await exportSPKI(first.publicKey);
    const forged = `${signingInput}.${createHmac('sha256', publicPem).update(signingInput).digest('base64url')}`;
    const error = await rejectionOf(auth.authenticate(call(forged)));
    expect(error.code).toBe('GW_UNAUTHENTICATED');
    expect(error.message).toContain('algorithm "HS256" is not allowed');
  });

  test.each<[string, () => Promise<string>, string]>([
    ['no exp', () => token({ key: first, expiresInSec: null }), 'claim "exp"'],
    ['expired', () => token({ key: first, expiresInSec: -60 }), 'bearer token expired'],
    ['nbf in the future', () => token({ key: first, notBeforeSec: 120 }), 'claim "nbf"'],
    ['wrong audience', () => token({ key: first, audience: 'someone-else' }), 'claim "aud"'],
    ['wrong issuer', () => token({ key: first, issuer: 'https://evil.test' }), 'claim "iss"'],
    [
      'unknown kid',
      () => token({ key: first, kid: 'nobody-knows-me' }),
      'no key in the key set matches the bearer token (kid "nobody-knows-me"',
    ],
    ['bad signature', async () => (await token({ key: first })).replace(/\.[^.]+$/, `.${'A'.repeat(342)}`), 'signature is invalid'],
  ])('%s is refused with GW_UNAUTHENTICATED and a reason', async (_label, make, reason) => {
    const error = await rejectionOf(auth.authenticate(call(await make())));
    expect(error.code).toBe('GW_UNAUTHENTICATED');
    expect(error.message).toContain(reason);
    expect(failures.at(-1)).toContain(reason);
  });

  test('expiry within the clock tolerance is accepted', async () => {
    const identity = await auth.authenticate(call(await token({ key: first, expiresInSec: -2 })));
    expect(identity.id).toBe('agent-7');
  });

  test('missing or malformed credentials are refused', async () => {
    const none = await rejectionOf(auth.authenticate(call(undefined)));
    expect(none.code).toBe('GW_UNAUTHENTICATED');
    expect(none.message).toContain('authorization: Bearer <token>');
    const basic = await rejectionOf(auth.authenticate({ ...call(undefined), metadata: { authorization: 'Basic YWxhZGRpbjpvcGVu' } }));
    expect(basic.message).toContain('metadata "authorization" must be "Bearer <token>"');
  });

  test('key rotation: a new key is picked up on its first token, a removed key stops working', async () => {
    const oldToken = await token({ key: first, sub: 'rotating' });
    expect((await auth.authenticate(call(oldToken))).id).toBe('rotating');
    writeFileSync(path.join(dir, 'jwks.json'), jwks(second));
    const newToken = await token({ key: second, sub: 'rotated' });
    // The cooldown (200 ms) may still run from the last reload; the next unknown-kid miss after it reloads.
    const identity = await eventually(() => auth.authenticate(call(newToken)), 5000, 100);
    expect(identity.id).toBe('rotated');
    const error = await rejectionOf(auth.authenticate(call(oldToken)));
    expect(error.message).toContain('no key in the key set matches');
    writeFileSync(path.join(dir, 'jwks.json'), jwks(first, second));
  });
});

describe('auth-standard JWT keys from a URL', () => {
  let server: http.Server;
  let served: string;
  let fetches = 0;
  let url: string;
  let key: SigningKey;

  beforeAll(async () => {
    key = await signingKey('url-key-1');
    served = jwks(key);
    server = http.createServer((_request, response) => {
      fetches++;
      response.setHeader('content-type', 'application/json');
      response.end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test('a flood of unknown kids does not cause a fetch storm', async () => {
    const { gateway, auth } = await startAuthOnly(
      { jwt: { jwksUrl: url, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 60_000 }, failureLimit: { maxFailures: 1000 } },
      tempDir(),
    );
    try {
      const before = fetches;
      expect((await auth.authenticate(call(await token({ key })))).id).toBe('agent-7');
      const forged = await Promise.all(Array.from({ length: 50 }, () => token({ key, kid: randomUUID() })));
      const results = await Promise.allSettled(forged.map((bearer) => auth.authenticate(call(bearer))));
      expect(results.every((result) => result.status === 'rejected')).toBe(true);
      // The startup load already used the cooldown: no fetch at all for the flood.
      expect(fetches - before).toBe(0);
    } finally {
      await gateway.stop();
    }
  });

  test('a new key at the URL is fetched once for its first token, then at most once per cooldown', async () => {
    const { gateway, auth } = await startAuthOnly(
      { jwt: { jwksUrl: url, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 300 }, failureLimit: { maxFailures: 1000 } },
      tempDir(),
    );
    try {
      const rotated = await signingKey('url-key-2');
      served = jwks(key, rotated);
      const start = fetches;
      const bearer = await token({ key: rotated, sub: 'after-rotation' });
      const identity = await eventually(() => auth.authenticate(call(bearer)), 5000, 100);
      expect(identity.id).toBe('after-rotation');
      const afterRotation = fetches;
      expect(afterRotation - start).toBeGreaterThanOrEqual(1);
      const forged = await Promise.all(Array.from({ length: 30 }, () => token({ key, kid: randomUUID() })));
      await Promise.allSettled(forged.map((token) => auth.authenticate(call(token))));
      // Concurrent misses join one reload, and the cooldown allows no second one.
      expect(fetches - afterRotation).toBeLessThanOrEqual(1);
    } finally {
      await gateway.stop();
    }
  });
});

describe('auth-standard failed-authentication lockout', () => {
  test('repeated failures lock the peer address out with a retry time; other addresses are unaffected', async () => {
    const dir = tempDir();
    const key = await signingKey('lock-key');
    writeFileSync(path.join(dir, 'jwks.json'), jwks(key));
    const { gateway, auth } = await startAuthOnly(
      {
        jwt: { jwksFile: 'jwks.json', issuer: ISSUER, audience: AUDIENCE, identityClaim: 'client_id' },
        failureLimit: { maxFailures: 3, windowMs: 60_000, lockoutMs: 1500 },
      },
      dir,
    );
    try {
      const good = await token({ key, claims: { client_id: 'svc-billing' } });
      expect((await auth.authenticate(call(good, 'ipv4:10.9.9.9:1000'))).id).toBe('svc-billing');
      const bad = await token({ key, audience: 'wrong' });
      for (let attempt = 0; attempt < 3; attempt++) {
        expect((await rejectionOf(auth.authenticate(call(bad, `ipv4:10.9.9.9:${2000 + attempt}`)))).code).toBe('GW_UNAUTHENTICATED');
      }
      const locked = await rejectionOf(auth.authenticate(call(good, 'ipv4:10.9.9.9:3000')));
      expect(locked.code).toBe('GW_RESOURCE_EXHAUSTED');
      expect(locked.message).toMatch(/too many failed authentications from ipv4:10\.9\.9\.9; retry after \d{4}-\d\d-\d\dT.* \(in \d+ s\)/);
      expect((await auth.authenticate(call(good, 'ipv4:10.9.9.10:1000'))).id).toBe('svc-billing');
      const afterLockout = await eventually(() => auth.authenticate(call(good, 'ipv4:10.9.9.9:4000')), 8000, 200);
      expect(afterLockout.id).toBe('svc-billing');
      const withoutClaim = await rejectionOf(auth.authenticate(call(await token({ key }), 'ipv4:10.9.9.11:1')));
      expect(withoutClaim.message).toContain('no string "client_id" claim');
    } finally {
      await gateway.stop();
    }
  });
});
