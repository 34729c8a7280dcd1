/**
 * A signing key for tests and the `jwks.json` beside it that auth-standard's `jwt.jwksFile`
 * reads: the public half under `kid`, the private half returned to sign tokens with.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, type KeyLike } from 'jose';

export async function writeJwks(dir: string, alg: 'ES256' | 'RS256', kid: string, options: { use?: 'sig' } = {}): Promise<KeyLike> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const key = { ...(await exportJWK(publicKey)), kid, alg, ...(options.use ? { use: options.use } : {}) };
  writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [key] }));
  return privateKey;
}
