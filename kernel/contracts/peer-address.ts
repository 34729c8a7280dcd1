/**
 * Peer strings and client addresses, shared by transports (which write peers) and by the plugins
 * that key limits on them (auth lockouts, per-peer connection limits).
 *
 * A transport reports peers as `ipv4:<address>:<port>`, `ipv6:[<address>]:<port>` or `unix:`.
 * Limits must key on the *client address*, never on the whole peer: the port changes with every
 * new connection, so a per-peer counter is reset by simply reconnecting.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Leading hextets of an IPv6 address kept in its client address: one /64 is one site. */
const IPV6_PREFIX_HEXTETS = 4;

/**
 * The client address a peer string belongs to:
 * - `ipv4:10.0.0.1:51234` (or the bare `10.0.0.1:51234`) → `ipv4:10.0.0.1`
 * - `ipv6:[2001:db8:1:2::7]:5000` (or `[…]:5000`, or grpc-js's bare `2001:db8:1:2::7:5000`)
 *   → `ipv6:[2001:db8:1:2::]/64`: a single host usually owns a whole /64, so per-address keys
 *   would let it rotate addresses; IPv4-mapped addresses (`::ffff:10.0.0.1`) count as IPv4
 * - `unix:<anything>` → `unix:` (a Unix socket carries no client address: one key for all)
 * Anything else is returned unchanged.
 */
export function clientAddress(peer: string): string {
  // Every call of a connection asks about the same peer: remember the last answer.
  if (peer === lastClientPeer) return lastClientAddress;
  const address = parseClientAddress(peer);
  lastClientPeer = peer;
  lastClientAddress = address;
  return address;
}

/** One-entry memos of the two pure functions here (a connection's calls repeat one peer). */
let lastClientPeer: string | undefined;
let lastClientAddress = '';
let lastRawPeer: string | undefined;
let lastCanonicalPeer = '';

function parseClientAddress(peer: string): string {
  if (peer.startsWith('unix:')) return 'unix:';
  let rest = peer;
  if (rest.startsWith('ipv4:') || rest.startsWith('ipv6:')) rest = rest.slice(5);
  const host = hostOf(rest);
  if (host === undefined) return peer;
  if (isIPv4(host)) return `ipv4:${host}`;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped && isIPv4(mapped[1])) return `ipv4:${mapped[1]}`;
  // Loopback is one host, not a network.
  if (host === '::1') return 'ipv6:[::1]';
  return `ipv6:[${ipv6Prefix(host)}]/64`;
}

/**
 * A peer in the canonical form above, from what grpc-js's `getPeer()` gives: a bare `host:port`
 * (`127.0.0.1:45118`, `::1:45118`, `::ffff:10.0.0.1:45118`), or `unknown` for a Unix socket (it has
 * no remote address). Already canonical or unknown forms are returned unchanged.
 */
export function canonicalPeer(raw: string): string {
  if (raw === lastRawPeer) return lastCanonicalPeer;
  const peer = parseCanonicalPeer(raw);
  lastRawPeer = raw;
  lastCanonicalPeer = peer;
  return peer;
}

function parseCanonicalPeer(raw: string): string {
  if (raw === 'unknown' || raw === '') return 'unix:';
  if (raw.startsWith('ipv4:') || raw.startsWith('ipv6:') || raw.startsWith('unix:')) return raw;
  let host = raw;
  let suffix = '';
  const colon = raw.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(raw.slice(colon + 1)) && (isIPv4(raw.slice(0, colon)) || isIPv6(raw.slice(0, colon)))) {
    host = raw.slice(0, colon);
    suffix = raw.slice(colon);
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped && isIPv4(mapped[1])) host = mapped[1]!;
  if (isIPv4(host)) return `ipv4:${host}${suffix}`;
  if (isIPv6(host)) return `ipv6:[${host}]${suffix}`;
  return raw;
}

/** The address part of `host:port`, `[v6]:port`, `v6:port` or a bare address; undefined if none. */
function hostOf(value: string): string | undefined {
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    const inside = end === -1 ? undefined : value.slice(1, end);
    return inside !== undefined && isIPv6(inside) ? inside : undefined;
  }
  // Bare forms come from grpc-js, which always appends the port: try `host:port` first.
  const colon = value.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(value.slice(colon + 1))) {
    const host = value.slice(0, colon);
    if (isIPv4(host) || isIPv6(host)) return host;
  }
  return isIPv4(value) || isIPv6(value) ? value : undefined;
}

/** `2001:db8:1:2:3:4:5:6` → `2001:db8:1:2::` (the /64 network, compressed). */
function ipv6Prefix(address: string): string {
  const lower = address.toLowerCase();
  const [head, tail] = lower.includes('::') ? lower.split('::') : [lower, undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (`::1.2.3.4`) sits past the /64: only the count of hextets matters.
  const tailCount = tailParts.reduce((count, part) => count + (part.includes('.') ? 2 : 1), 0);
  const hextets = [...headParts, ...new Array<string>(Math.max(0, 8 - headParts.length - tailCount)).fill('0'), ...tailParts];
  const prefix = hextets
    .slice(0, IPV6_PREFIX_HEXTETS)
    .map((part) => (part.includes('.') ? '0' : String(parseInt(part || '0', 16).toString(16))));
  while (prefix.length > 0 && prefix[prefix.length - 1] === '0') prefix.pop();
  return `${prefix.join(':')}::`;
}
