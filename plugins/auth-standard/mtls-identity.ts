/**
 * mTLS: the server's TLS material, and the caller's identity from its verified client certificate.
 *
 * The transport has already verified the chain during the handshake; the chain, validity period
 * and leaf constraints are checked again here because an identity is only as good as the weakest
 * transport that hands certificates over, and the check is cheap once cached per leaf fingerprint.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { GatewayError, isGatewayError, type Identity, type ServerTlsSettings } from '../../kernel';
import type { MtlsOptions } from './schema';

export function loadServerTls(options: MtlsOptions, resolvePath: (file: string) => string): ServerTlsSettings {
  const read = (field: keyof MtlsOptions, file: string): Buffer => {
    try {
      return readFileSync(resolvePath(file));
    } catch (error) {
      throw new GatewayError('GW_CONFIG_INVALID', `mtls.${field}: cannot read "${file}": ${(error as Error).message}`, {
        field: `mtls.${field}`,
      });
    }
  };
  return {
    certChain: read('certFile', options.certFile),
    privateKey: read('keyFile', options.keyFile),
    clientCa: read('caFile', options.caFile),
    requireClientCert: options.requireClientCert,
  };
}

/** Splits a PEM bundle into certificates. */
export function parseCaBundle(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/**
 * Splits Node's `subjectAltName` string (`DNS:a, URI:spiffe://x/y`) into entries. Node quotes
 * values with special characters as JSON strings (so `URI:"a, URI:b"` is one entry), which a naive
 * split on ", " would turn into two: exactly the SAN-smuggling this must not fall for.
 */
export function parseSubjectAltNames(text: string | undefined): Array<{ type: string; value: string }> {
  const entries: Array<{ type: string; value: string }> = [];
  if (!text) return entries;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) throw new Error(`malformed subjectAltName near "${text.slice(i, i + 20)}"`);
    const type = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      next = end + 1;
    } else {
      const comma = text.indexOf(', ', colon + 1);
      next = comma === -1 ? text.length : comma;
      value = text.slice(colon + 1, next);
    }
    entries.push({ type, value });
    i = next;
    if (text.startsWith(', ', i)) i += 2;
  }
  return entries;
}

const SPIFFE_PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;

/** Validates a SPIFFE ID of the given trust domain; returns what is wrong, or undefined. */
export function spiffeProblem(uri: string, trustDomain: string): string | undefined {
  if (!uri.startsWith('spiffe://')) return `URI SAN "${uri}" is not a SPIFFE ID`;
  const rest = uri.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const domain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (domain !== trustDomain) return `SPIFFE ID "${uri}" is in trust domain "${domain}", expected "${trustDomain}"`;
  if (path === '') return `SPIFFE ID "${uri}" has no workload path`;
  if (!SPIFFE_PATH.test(path) || path.includes('/./') || path.includes('/../') || path.endsWith('/.') || path.endsWith('/..')) {
    return `SPIFFE ID "${uri}" has an invalid path`;
  }
  return undefined;
}

export class MtlsIdentityVerifier {
  private readonly authorities: X509Certificate[];
  /** Leaf fingerprint → identity (or the rejection), so a reconnecting agent costs one hash. */
  private readonly cache: LRUCache<string, Identity | GatewayError>;

  constructor(
    private readonly options: MtlsOptions,
    caBundle: Buffer,
    onEvict: () => void,
  ) {
    this.authorities = parseCaBundle(caBundle);
    if (this.authorities.length === 0) {
      throw new GatewayError('GW_CONFIG_INVALID', 'mtls.caFile: contains no PEM certificate', { field: 'mtls.caFile' });
    }
    if (options.identityMode === 'spiffe' && !options.trustDomain) {
      throw new GatewayError('GW_CONFIG_INVALID', 'mtls.trustDomain: required when identityMode is "spiffe"', {
        field: 'mtls.trustDomain',
      });
    }
    this.cache = new LRUCache({
      max: options.cacheMaxEntries,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') onEvict();
      },
    });
  }

  size(): number {
    return this.cache.size;
  }

  /** The identity of a verified chain (DER, leaf first); throws GW_UNAUTHENTICATED with the reason. */
  identify(chain: readonly Uint8Array[], now = Date.now()): Identity {
    const leafDer = chain[0];
    const fingerprint = createHash('sha256').update(leafDer).digest('base64');
    const cached = this.cache.get(fingerprint);
    if (cached !== undefined) {
      if (isGatewayError(cached)) throw cached;
      if (cached.expiresAt !== undefined && cached.expiresAt <= now) {
        this.cache.delete(fingerprint);
        throw unauthenticated(`client certificate expired at ${new Date(cached.expiresAt).toISOString()}`);
      }
      return cached;
    }
    try {
      const identity = this.verify(chain, now);
      this.cache.set(fingerprint, identity, { ttl: Math.max(1, (identity.expiresAt ?? now + 60_000) - now) });
      return identity;
    } catch (error) {
      const rejection = isGatewayError(error) ? error : unauthenticated(`client certificate is unusable: ${(error as Error).message}`);
      // Time-dependent rejections (not yet valid) must not be cached for long.
      this.cache.set(fingerprint, rejection, { ttl: 5_000 });
      throw rejection;
    }
  }

  private verify(chain: readonly Uint8Array[], now: number): Identity {
    const certificates = chain.map((der) => new X509Certificate(Buffer.from(der.buffer, der.byteOffset, der.byteLength)));
    const leaf = certificates[0];
    if (leaf.ca) throw unauthenticated('client certificate is a CA certificate (basicConstraints CA:true); use a leaf certificate');
    this.checkValidity(leaf, now);
    this.checkChain(certificates, now);

    const sans = parseSubjectAltNames(leaf.subjectAltName);
    const notAfter = Date.parse(leaf.validTo);
    const claims = { subject: leaf.subject, issuer: leaf.issuer, serialNumber: leaf.serialNumber, fingerprint256: leaf.fingerprint256 };
    if (this.options.identityMode === 'dns') {
      const names = sans.filter((san) => san.type === 'DNS').map((san) => san.value);
      if (names.length !== 1) throw unauthenticated(`client certificate must carry exactly one DNS SAN, found ${names.length}`);
      return { id: names[0], method: 'mtls', claims: { ...claims, dns: names[0] }, expiresAt: notAfter };
    }
    const uris = sans.filter((san) => san.type === 'URI').map((san) => san.value);
    if (uris.length !== 1) throw unauthenticated(`client certificate must carry exactly one URI SAN (a SPIFFE ID), found ${uris.length}`);
    const problem = spiffeProblem(uris[0], this.options.trustDomain!);
    if (problem) throw unauthenticated(problem);
    return { id: uris[0], method: 'mtls', claims: { ...claims, spiffeId: uris[0] }, expiresAt: notAfter };
  }

  private checkValidity(certificate: X509Certificate, now: number): void {
    const notBefore = Date.parse(certificate.validFrom);
    const notAfter = Date.parse(certificate.validTo);
    if (now < notBefore)
      throw unauthenticated(`certificate "${certificate.subject}" is not valid before ${new Date(notBefore).toISOString()}`);
    if (now >= notAfter) throw unauthenticated(`certificate "${certificate.subject}" expired at ${new Date(notAfter).toISOString()}`);
  }

  /** Walks leaf → intermediates → one of our CAs, checking each signature and validity. */
  private checkChain(certificates: readonly X509Certificate[], now: number): void {
    let current = certificates[0];
    for (let depth = 0; depth <= certificates.length; depth++) {
      const authority = this.authorities.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
      if (authority) {
        this.checkValidity(authority, now);
        return;
      }
      const intermediate = certificates.find(
        (cert) => cert !== current && cert.ca && current.checkIssued(cert) && current.verify(cert.publicKey),
      );
      if (!intermediate) break;
      this.checkValidity(intermediate, now);
      current = intermediate;
    }
    throw unauthenticated('client certificate does not chain to a CA in mtls.caFile');
  }
}

function unauthenticated(message: string): GatewayError {
  return new GatewayError('GW_UNAUTHENTICATED', message);
}
