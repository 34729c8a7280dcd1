/**
 * The rules on what an agent says about itself (`AgentInfo`, as documented in gateway.proto),
 * applied once at the registry boundary so indexes can trust every record. Part of the registry
 * contract: every registry plugin (in-memory, NATS, third-party) calls this, so an agent is
 * accepted or refused the same way whichever registry a gateway runs. Field names in errors are
 * the proto's (`agent_id`, `lease_ttl_ms`) because that is what a client has to fix.
 */
import { randomBytes } from 'node:crypto';
import { SemVer } from 'semver';
import { invalidArgument } from '../errors';
import type { AgentInfo, AgentProfile, AgentSkill } from './agent';

/** As documented on `AgentInfo.agent_id` in gateway.proto. */
const AGENT_ID = /^[A-Za-z0-9._:-]+$/;
/** As documented on `AgentInfo.service` in gateway.proto. */
const SERVICE = /^[a-z0-9][a-z0-9._-]*$/;
/** Tag keys and capabilities: no whitespace or wildcards, and never `__proto__`-like keys. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

export interface ValidatedInfo {
  info: AgentInfo;
  semver: SemVer;
  capabilitySet: ReadonlySet<string>;
}

/** A registry's limits on agent info (its plugin options carry them). */
export interface AgentInfoLimits {
  defaultLeaseTtlMs: number;
  minLeaseTtlMs: number;
  maxLeaseTtlMs: number;
  maxTags: number;
  maxCapabilities: number;
  maxNameLength: number;
  maxTagValueLength: number;
}

/** Throws GW_INVALID_ARGUMENT naming the field. `agentId` may come back empty: the caller assigns one. */
export function validateAgentInfo(raw: AgentInfo, limits: AgentInfoLimits): ValidatedInfo {
  if (raw === null || typeof raw !== 'object') throw invalidArgument('info', 'agent info is required');
  const agentId = raw.agentId ?? '';
  if (typeof agentId !== 'string') throw invalidArgument('agent_id', 'must be a string');
  if (agentId !== '') checkName(agentId, 'agent_id', AGENT_ID, 'letters, digits, ".", "_", ":" and "-"', limits.maxNameLength);

  const service = raw.service;
  if (typeof service !== 'string' || service === '') throw invalidArgument('service', 'is required, e.g. "summarizer"');
  checkName(
    service,
    'service',
    SERVICE,
    'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit',
    limits.maxNameLength,
  );

  const semver = parseVersion(raw.version);
  const tags = checkTags(raw.tags, limits);
  const capabilities = checkCapabilities(raw.capabilities, limits);
  const leaseTtlMs = clampLease(raw.leaseTtlMs, limits);
  const profile = checkProfile(raw.profile, limits);

  return {
    info: profile
      ? { agentId, service, version: semver.version, tags, capabilities, leaseTtlMs, profile }
      : { agentId, service, version: semver.version, tags, capabilities, leaseTtlMs },
    semver,
    capabilitySet: new Set(capabilities),
  };
}

/** A short unique id for agents that did not choose one: `<service>-<12 hex>`. */
export function generateAgentId(service: string, taken: (id: string) => boolean, maxLength: number): string {
  const prefix = service.slice(0, Math.max(0, maxLength - 13));
  // 48 random bits: a collision is practically impossible, but a bounded retry costs nothing.
  for (let attempt = 0; attempt < 8; attempt++) {
    const suffix = randomBytes(6).toString('hex');
    const id = prefix ? `${prefix}-${suffix}` : suffix;
    if (!taken(id)) return id;
  }
  throw new Error('could not generate a free agent id after 8 attempts');
}

function checkName(value: string, field: string, pattern: RegExp, allowed: string, maxLength: number): void {
  if (value.length > maxLength) throw invalidArgument(field, `is ${value.length} characters long; the limit is ${maxLength}`);
  if (!pattern.test(value)) throw invalidArgument(field, `"${value.slice(0, 64)}" may contain only ${allowed}`);
}

function parseVersion(version: unknown): SemVer {
  if (typeof version !== 'string' || version === '') throw invalidArgument('version', 'is required: a semantic version like "1.4.2"');
  try {
    return new SemVer(version);
  } catch {
    throw invalidArgument('version', `"${version.slice(0, 64)}" is not a semantic version (expected e.g. "1.4.2" or "2.0.0-rc.1")`);
  }
}

function checkTags(tags: unknown, limits: AgentInfoLimits): Record<string, string> {
  if (tags === undefined || tags === null) return {};
  if (typeof tags !== 'object' || Array.isArray(tags)) throw invalidArgument('tags', 'must be a map of string to string');
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > limits.maxTags) throw invalidArgument('tags', `has ${entries.length} entries; the limit is ${limits.maxTags}`);
  const copy: Record<string, string> = {};
  for (const [key, value] of entries) {
    checkName(key, `tags.${key.slice(0, 64)}`, NAME, 'letters, digits, ".", "_", ":", "/" and "-" in a tag key', limits.maxNameLength);
    if (typeof value !== 'string') throw invalidArgument(`tags.${key}`, 'must be a string');
    if (value.length > limits.maxTagValueLength) {
      throw invalidArgument(`tags.${key}`, `value is ${value.length} characters long; the limit is ${limits.maxTagValueLength}`);
    }
    copy[key] = value;
  }
  return copy;
}

function checkCapabilities(capabilities: unknown, limits: AgentInfoLimits): string[] {
  if (capabilities === undefined || capabilities === null) return [];
  if (!Array.isArray(capabilities)) throw invalidArgument('capabilities', 'must be a list of strings');
  if (capabilities.length > limits.maxCapabilities) {
    throw invalidArgument('capabilities', `has ${capabilities.length} entries; the limit is ${limits.maxCapabilities}`);
  }
  const unique = new Set<string>();
  capabilities.forEach((capability: unknown, index) => {
    if (typeof capability !== 'string' || capability === '') throw invalidArgument(`capabilities[${index}]`, 'must be a non-empty string');
    checkName(capability, `capabilities[${index}]`, NAME, 'letters, digits, ".", "_", ":", "/" and "-"', limits.maxNameLength);
    unique.add(capability);
  });
  return [...unique];
}

/** As documented on `AgentProfile` in gateway.proto. */
const MAX_DESCRIPTION = 1024;
const MAX_SKILLS = 32;
const MAX_SKILL_LIST = 16;

/** The optional A2A profile: bounded, so a card built from it stays small. */
function checkProfile(profile: unknown, limits: AgentInfoLimits): AgentProfile | undefined {
  if (profile === undefined || profile === null) return undefined;
  if (typeof profile !== 'object' || Array.isArray(profile))
    throw invalidArgument('profile', 'must be an object with description and skills');
  const { description = '', skills = [] } = profile as { description?: unknown; skills?: unknown };
  if (typeof description !== 'string') throw invalidArgument('profile.description', 'must be a string');
  if (description.length > MAX_DESCRIPTION)
    throw invalidArgument('profile.description', `is ${description.length} characters long; the limit is ${MAX_DESCRIPTION}`);
  if (!Array.isArray(skills)) throw invalidArgument('profile.skills', 'must be a list of skills');
  if (skills.length > MAX_SKILLS) throw invalidArgument('profile.skills', `has ${skills.length} entries; the limit is ${MAX_SKILLS}`);
  const copies = skills.map((skill: unknown, index): AgentSkill => {
    const field = `profile.skills[${index}]`;
    if (skill === null || typeof skill !== 'object') throw invalidArgument(field, 'must be an object with id and name');
    const { id, name, description: text = '', tags = [], examples = [] } = skill as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') throw invalidArgument(`${field}.id`, 'is required');
    checkName(id, `${field}.id`, NAME, 'letters, digits, ".", "_", ":", "/" and "-"', limits.maxNameLength);
    if (typeof name !== 'string' || name === '') throw invalidArgument(`${field}.name`, 'is required');
    if (name.length > limits.maxNameLength)
      throw invalidArgument(`${field}.name`, `is ${name.length} characters long; the limit is ${limits.maxNameLength}`);
    if (typeof text !== 'string' || text.length > MAX_DESCRIPTION)
      throw invalidArgument(`${field}.description`, `must be a string of at most ${MAX_DESCRIPTION} characters`);
    return {
      id,
      name,
      description: text,
      tags: checkTextList(tags, `${field}.tags`, limits.maxTagValueLength),
      examples: checkTextList(examples, `${field}.examples`, MAX_DESCRIPTION),
    };
  });
  return { description, skills: copies };
}

function checkTextList(values: unknown, field: string, maxLength: number): string[] {
  if (!Array.isArray(values)) throw invalidArgument(field, 'must be a list of strings');
  if (values.length > MAX_SKILL_LIST) throw invalidArgument(field, `has ${values.length} entries; the limit is ${MAX_SKILL_LIST}`);
  return values.map((value: unknown, index) => {
    if (typeof value !== 'string' || value.length > maxLength)
      throw invalidArgument(`${field}[${index}]`, `must be a string of at most ${maxLength} characters`);
    return value;
  });
}

/** 0 takes the default; anything else is clamped to the configured bounds rather than refused. */
function clampLease(requested: unknown, limits: AgentInfoLimits): number {
  const ttl = requested ?? 0;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- echoes the client's value, whatever it is
    throw invalidArgument('lease_ttl_ms', `must be a non-negative integer number of milliseconds, got ${String(ttl)}`);
  }
  if (ttl === 0) return limits.defaultLeaseTtlMs;
  return Math.min(limits.maxLeaseTtlMs, Math.max(limits.minLeaseTtlMs, ttl));
}
