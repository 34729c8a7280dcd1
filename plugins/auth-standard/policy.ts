/**
 * Parses, validates and compiles a policy document into an immutable `CompiledPolicy`. A compiled
 * policy is swapped in whole, so an authorization never sees half of an old and half of a new one.
 */
import { createHash } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import { describeAjvError, GatewayError, type AuthAction, type AuthzDecision, type Identity } from '../../kernel';
import { matchesPattern, patternProblem } from './resource-pattern';
import { policySchema, type PermissionAction, type PolicyDocument, type PolicyIdentity } from './policy-schema';

let validator: ValidateFunction | undefined;
function validatePolicyShape(document: unknown): ValidateFunction {
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(policySchema);
  validator(document);
  return validator;
}

interface CompiledPermission {
  /** Bit set of actions (see ACTION_BITS). */
  actions: number;
  resources: readonly string[];
}

interface CompiledBinding {
  role: string;
  identities?: ReadonlySet<string>;
  claims?: ReadonlyArray<readonly [name: string, accepted: readonly string[]]>;
}

const ACTION_BITS: Readonly<Record<Exclude<AuthAction, 'connect'>, number>> = {
  register: 1,
  publish: 2,
  subscribe: 4,
  send: 8,
  request: 16,
  admin: 32,
  discover: 64,
};
const ALL_ACTIONS = 127;

function actionBits(actions: readonly PermissionAction[]): number {
  let bits = 0;
  for (const action of actions) bits |= action === '*' ? ALL_ACTIONS : ACTION_BITS[action];
  return bits;
}

/** Thrown for a document that fails the schema or a semantic check; `field` is the JSON path. */
function policyInvalid(path: string, message: string): GatewayError {
  return new GatewayError('GW_INVALID_ARGUMENT', `policy${path || '/'}: ${message}`, { field: `policy${path}` });
}

export class CompiledPolicy {
  /** Content hash unless the document names its own `version`. */
  readonly version: string;
  readonly document: Readonly<PolicyDocument>;
  private readonly identityEntries?: ReadonlyMap<string, PolicyIdentity>;
  private readonly anyIdentity?: PolicyIdentity;
  private readonly rbacEnabled: boolean;
  private readonly roles = new Map<string, readonly CompiledPermission[]>();
  private readonly bindings: readonly CompiledBinding[];

  constructor(document: PolicyDocument, contentHash: string) {
    this.document = document;
    this.version = document.version ?? contentHash.slice(0, 16);
    if (document.identities) {
      const entries = new Map<string, PolicyIdentity>();
      for (const entry of document.identities) {
        if (entry.id === '*') this.anyIdentity = entry;
        else entries.set(entry.id, entry);
      }
      this.identityEntries = entries;
    }
    const rbac = document.rbac;
    this.rbacEnabled = rbac !== undefined && rbac.enabled !== false;
    for (const [role, permissions] of Object.entries(rbac?.roles ?? {})) {
      this.roles.set(
        role,
        permissions.map((permission) => ({ actions: actionBits(permission.actions), resources: permission.resources })),
      );
    }
    this.bindings = (rbac?.bindings ?? []).map((binding) => ({
      role: binding.role,
      identities: binding.identities ? new Set(binding.identities) : undefined,
      claims: binding.claims
        ? Object.entries(binding.claims).map(([name, value]) => [name, typeof value === 'string' ? [value] : value] as const)
        : undefined,
    }));
  }

  /** The roles bound to an identity, sorted (a stable cache key part). */
  rolesFor(identity: Identity): string[] {
    const roles: string[] = [];
    for (const binding of this.bindings) {
      if (roles.includes(binding.role)) continue;
      const byIdentity = binding.identities !== undefined && (binding.identities.has(identity.id) || binding.identities.has('*'));
      if (byIdentity || (binding.claims !== undefined && claimsMatch(binding.claims, identity.claims))) roles.push(binding.role);
    }
    return roles.sort();
  }

  /** The decision for one request; `roles` come from `rolesFor` (computed once per identity). */
  decide(identity: Identity, roles: readonly string[], action: AuthAction, resource: string): AuthzDecision {
    let entry: PolicyIdentity | undefined;
    if (this.identityEntries) {
      entry = this.identityEntries.get(identity.id) ?? this.anyIdentity;
      if (!entry) {
        return deny(`identity "${identity.id}" is not in the policy's identity allow-list (policy ${this.version})`);
      }
    }
    if (action === 'connect') return ALLOWED;
    if (action === 'register' && entry) {
      const services = entry.services ?? [];
      if (!services.some((pattern) => matchesPattern(pattern, resource))) {
        return deny(
          services.length === 0
            ? `identity "${identity.id}" may not register any service (no "services" in its allow-list entry)`
            : `identity "${identity.id}" may not register as service "${resource}" (allowed: ${services.join(', ')})`,
        );
      }
    }
    if (!this.rbacEnabled) return ALLOWED;
    const bit = ACTION_BITS[action];
    for (const role of roles) {
      for (const permission of this.roles.get(role) ?? []) {
        if ((permission.actions & bit) === 0) continue;
        for (const pattern of permission.resources) {
          if (matchesPattern(pattern, resource)) return ALLOWED;
        }
      }
    }
    return deny(
      roles.length === 0
        ? `identity "${identity.id}" has no role in policy ${this.version}; ${action} on "${resource}" is denied by default`
        : `no role of "${identity.id}" (${roles.join(', ')}) grants ${action} on "${resource}"`,
    );
  }
}

const ALLOWED: AuthzDecision = Object.freeze({ allowed: true, reason: 'allowed by policy' });

function deny(reason: string): AuthzDecision {
  return { allowed: false, reason };
}

function claimsMatch(required: ReadonlyArray<readonly [string, readonly string[]]>, claims: Readonly<Record<string, unknown>>): boolean {
  for (const [name, accepted] of required) {
    const value = claims[name];
    if (typeof value === 'string') {
      if (!accepted.includes(value)) return false;
    } else if (Array.isArray(value)) {
      if (!value.some((item) => typeof item === 'string' && accepted.includes(item))) return false;
    } else {
      return false;
    }
  }
  return true;
}

/** Semantic checks the schema cannot express; returns the first problem as an error. */
function checkSemantics(document: PolicyDocument): void {
  const seen = new Set<string>();
  for (const [index, entry] of (document.identities ?? []).entries()) {
    if (seen.has(entry.id)) throw policyInvalid(`/identities/${index}/id`, `identity "${entry.id}" is listed twice`);
    seen.add(entry.id);
    for (const [serviceIndex, pattern] of (entry.services ?? []).entries()) {
      const problem = patternProblem(pattern);
      if (problem) throw policyInvalid(`/identities/${index}/services/${serviceIndex}`, `pattern "${pattern}" ${problem}`);
    }
  }
  const roles = document.rbac?.roles ?? {};
  for (const [role, permissions] of Object.entries(roles)) {
    for (const [index, permission] of permissions.entries()) {
      for (const [resourceIndex, pattern] of permission.resources.entries()) {
        const problem = patternProblem(pattern);
        if (problem) throw policyInvalid(`/rbac/roles/${role}/${index}/resources/${resourceIndex}`, `pattern "${pattern}" ${problem}`);
      }
    }
  }
  for (const [index, binding] of (document.rbac?.bindings ?? []).entries()) {
    if (!Object.prototype.hasOwnProperty.call(roles, binding.role)) {
      throw policyInvalid(
        `/rbac/bindings/${index}/role`,
        `binds unknown role "${binding.role}" (defined: ${Object.keys(roles).join(', ') || 'none'})`,
      );
    }
  }
}

/** Parses and validates policy JSON text; throws GW_INVALID_ARGUMENT naming the JSON path to fix. */
export function compilePolicy(text: string, maxBytes: number): CompiledPolicy {
  if (Buffer.byteLength(text) > maxBytes) throw policyInvalid('', `is larger than maxPolicyBytes (${maxBytes} bytes)`);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw policyInvalid('', `is not valid JSON: ${(error as Error).message}`);
  }
  return compilePolicyDocument(document, createHash('sha256').update(text).digest('hex'));
}

export function compilePolicyDocument(document: unknown, contentHash?: string): CompiledPolicy {
  const validate = validatePolicyShape(document);
  const error = validate.errors?.[0];
  if (error) {
    const described = describeAjvError(error);
    throw policyInvalid(described.path, described.message);
  }
  checkSemantics(document as PolicyDocument);
  const hash = contentHash ?? createHash('sha256').update(JSON.stringify(document)).digest('hex');
  return new CompiledPolicy(document as PolicyDocument, hash);
}

/** What runs when no policy is configured: every authenticated identity may do everything. */
export function permissivePolicy(): CompiledPolicy {
  return new CompiledPolicy({ version: 'none' }, 'none');
}
