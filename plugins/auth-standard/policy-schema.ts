/**
 * The policy document: who may connect, which service names each identity may register, and the
 * RBAC roles and bindings for everything else. Validated with ajv before it replaces the live one.
 */
import type { AuthAction } from '../../kernel';

export type PermissionAction = Exclude<AuthAction, 'connect'> | '*';

export interface PolicyPermission {
  actions: PermissionAction[];
  /** Resource patterns with `*` / `>` token wildcards. */
  resources: string[];
}

export interface PolicyBinding {
  role: string;
  /** Identity ids bound to the role (`*` binds every identity). */
  identities?: string[];
  /** Claims that bind the role: each listed claim must equal (or, for list claims, contain) one of the values. */
  claims?: Record<string, string | string[]>;
}

export interface PolicyIdentity {
  /** Exact identity id, or `*` for any authenticated identity. */
  id: string;
  /** Service-name patterns the identity may register as; none when absent. */
  services?: string[];
}

export interface PolicyDocument {
  version?: string;
  /** The identity allow-list; when absent every authenticated identity may connect and register any name. */
  identities?: PolicyIdentity[];
  rbac?: {
    enabled?: boolean;
    roles: Record<string, PolicyPermission[]>;
    bindings: PolicyBinding[];
  };
}

const permittedActions = ['register', 'publish', 'subscribe', 'send', 'request', 'discover', 'admin', '*'];
const patternList = { type: 'array', maxItems: 1024, items: { type: 'string', minLength: 1, maxLength: 512 } };

export const policySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    version: { type: 'string', minLength: 1, maxLength: 128 },
    identities: {
      type: 'array',
      maxItems: 100_000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { type: 'string', minLength: 1, maxLength: 2048 },
          services: patternList,
        },
      },
    },
    rbac: {
      type: 'object',
      additionalProperties: false,
      required: ['roles', 'bindings'],
      properties: {
        enabled: { type: 'boolean', default: true },
        roles: {
          type: 'object',
          maxProperties: 10_000,
          propertyNames: { pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
          additionalProperties: {
            type: 'array',
            maxItems: 1024,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['actions', 'resources'],
              properties: {
                actions: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: permittedActions } },
                resources: { ...patternList, minItems: 1 },
              },
            },
          },
        },
        bindings: {
          type: 'array',
          maxItems: 100_000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['role'],
            anyOf: [{ required: ['identities'] }, { required: ['claims'] }],
            properties: {
              role: { type: 'string', minLength: 1 },
              identities: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: 2048 } },
              claims: {
                type: 'object',
                minProperties: 1,
                additionalProperties: {
                  anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }],
                },
              },
            },
          },
        },
      },
    },
  },
} as const;
