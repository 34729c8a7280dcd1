'use strict';
/**
 * # @openclaw-examples/auth-apikey
 *
 * A third-party `auth` plugin for OpenClaw Gateway, built only on the public plugin contract: it
 * shows that auth is swappable. Callers present an API key in request metadata (`x-api-key` by
 * default); the gateway stores only SHA-256 hashes of the keys. Each key names an identity, the
 * service names it may register, and what it may do (actions on resource patterns with the topic
 * wildcards `*` and `>`). Deny by default.
 *
 * ```json
 * { "use": "@openclaw-examples/auth-apikey", "options": {
 *     "keys": [{ "id": "ci-bot", "sha256": "<hex of sha256(key)>", "services": ["builder"],
 *                "permissions": [{ "actions": ["publish", "subscribe"], "resources": ["builds.>"] }] }],
 *     "tls": { "certFile": "tls/server.pem", "keyFile": "tls/server.key" } } }
 * ```
 *
 * Without `tls` the keys would cross the network in clear text, so the plugin then asks transports
 * for loopback listeners only (`loopbackOnly()`), like open mode.
 *
 * Plain CommonJS with JSDoc types, so Node loads it directly; `openclaw-gateway` is a peer
 * dependency and supplies the error class the transports map to status codes.
 */
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { GatewayError } = require('openclaw-gateway');

/** @typedef {import('openclaw-gateway').AuthService} AuthService */
/** @typedef {import('openclaw-gateway').Identity} Identity */
/** @typedef {{ actions: string[], resources: string[] }} Permission */
/** @typedef {{ id: string, sha256: string, services?: string[], permissions?: Permission[] }} KeyEntry */
/** @typedef {{ header: string, keys: KeyEntry[], tls?: { certFile: string, keyFile: string } }} Options */

const ACTIONS = ['register', 'publish', 'subscribe', 'send', 'request', 'discover', 'admin', '*'];

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['keys'],
  properties: {
    header: { type: 'string', pattern: '^[a-z0-9-]+$', default: 'x-api-key' },
    keys: {
      type: 'array',
      minItems: 1,
      maxItems: 10000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'sha256'],
        properties: {
          id: { type: 'string', minLength: 1 },
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          services: { type: 'array', items: { type: 'string', minLength: 1 } },
          permissions: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['actions', 'resources'],
              properties: {
                actions: { type: 'array', minItems: 1, items: { enum: ACTIONS } },
                resources: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
              },
            },
          },
        },
      },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['certFile', 'keyFile'],
      properties: { certFile: { type: 'string', minLength: 1 }, keyFile: { type: 'string', minLength: 1 } },
    },
  },
};

/**
 * `*` matches one token, `>` (last) one or more; tokens are separated by `.`.
 * @param {string} pattern
 * @param {string} resource
 */
function matches(pattern, resource) {
  const want = pattern.split('.');
  const have = resource.split('.');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>') return have.length > i;
    if (i >= have.length || have[i].length === 0) return false;
    if (want[i] !== '*' && want[i] !== have[i]) return false;
  }
  return want.length === have.length;
}

/** @param {string} value */
function sha256(value) {
  return createHash('sha256').update(value).digest('hex');
}

module.exports = {
  name: 'auth-apikey',
  kind: 'auth',
  version: '1.0.0',
  description: 'API keys in request metadata with per-key permissions (example third-party plugin).',
  schema,
  /** @param {import('openclaw-gateway').PluginContext<Options>} ctx */
  setup(ctx) {
    const { options, hooks } = ctx;
    /** @type {Map<string, KeyEntry>} hash → entry; the hash of a secret says nothing about it. */
    const byHash = new Map();
    for (const [index, entry] of options.keys.entries()) {
      if (byHash.has(entry.sha256)) {
        throw new GatewayError('GW_CONFIG_INVALID', `keys[${index}].sha256: the same key is listed twice`, {
          field: `keys[${index}].sha256`,
        });
      }
      byHash.set(entry.sha256, entry);
    }
    const identities = new Map(options.keys.map((entry) => [entry.id, entry]));
    const tls = options.tls
      ? {
          certChain: readFileSync(path.resolve(ctx.gateway.configDir, options.tls.certFile)),
          privateKey: readFileSync(path.resolve(ctx.gateway.configDir, options.tls.keyFile)),
          requireClientCert: false,
        }
      : undefined;
    const decisions = ctx.metrics.counter({
      name: 'apikey_decisions_total',
      help: 'Authorization decisions of the API-key auth plugin.',
      labelNames: ['outcome'],
    });

    /** @type {AuthService} */
    const service = {
      async authenticate(request) {
        const key = request.metadata[options.header];
        const entry = key === undefined ? undefined : byHash.get(sha256(key));
        if (!entry) {
          const reason =
            key === undefined ? `metadata "${options.header}" is required` : `metadata "${options.header}" holds an unknown API key`;
          hooks.authFailed.call({ stage: 'authenticate', reason, peer: request.peer });
          throw new GatewayError('GW_UNAUTHENTICATED', reason, { field: `metadata.${options.header}` });
        }
        return { id: entry.id, method: 'apikey', claims: {} };
      },
      authorize({ identity, action, resource }) {
        const entry = identities.get(identity.id);
        let allowed = false;
        let reason = `key "${identity.id}" grants no ${action} on "${resource}"`;
        if (!entry) {
          reason = `"${identity.id}" is not an API-key identity`;
        } else if (action === 'connect') {
          allowed = true;
        } else if (action === 'register') {
          // A key's `services` are its register grant: no key can register as another's service.
          allowed = (entry.services ?? []).some((pattern) => matches(pattern, resource));
          if (!allowed) reason = `key "${identity.id}" may not register as service "${resource}"`;
        } else {
          allowed = (entry.permissions ?? []).some(
            (permission) =>
              (permission.actions.includes(action) || permission.actions.includes('*')) &&
              permission.resources.some((pattern) => matches(pattern, resource)),
          );
        }
        decisions.inc({ outcome: allowed ? 'allowed' : 'denied' });
        if (!allowed) hooks.authFailed.call({ stage: 'authorize', reason, peer: '', identity: identity.id, action, resource });
        return allowed ? { allowed, reason: 'granted by the API key' } : { allowed, reason };
      },
      serverTls: () => tls,
      loopbackOnly: () => tls === undefined,
      // Keys are fixed at start: there is no policy to change.
      onPolicyChange: () => () => undefined,
    };
    return { service };
  },
};
