/**
 * Checks what an agent says about itself once, at the registry boundary, with the rules documented
 * on `AgentInfo` in gateway.proto. Field names in errors are the proto's because that is what a
 * client has to fix.
 */
import { randomBytes } from 'node:crypto';
import { SemVer } from 'semver';
import { invalidArgument, type AgentInfo } from '../../kernel';
import type { NatsRegistryOptions } from './schema';

const AGENT_ID = /^[A-Za-z0-9._:-]+$/;
const SERVICE = /^[a-z0-9][a-z0-9._-]*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

type Limits = Pick<
  NatsRegistryOptions,
  'defaultLeaseTtlMs' | 'minLeaseTtlMs' | 'maxLeaseTtlMs' | 'maxTags' | 'maxCapabilities' | 'maxNameLength' | 'maxTagValueLength'
>;

/** Throws GW_INVALID_ARGUMENT naming the field; returns a normalised copy (agentId may be empty). */
export function validateAgentInfo(raw: AgentInfo, limits: Limits): AgentInfo {
  if (raw === null || typeof raw !== 'object') throw invalidArgument('info', 'agent info is required');
  const agentId = raw.agentId ?? '';
  if (typeof agentId !== 'string') throw invalidArgument('agent_id', 'must be a string');
  if (agentId !== '') checkName(agentId, 'agent_id', AGENT_ID, 'letters, digits, ".", "_", ":" and "-"', limits.maxNameLength);
  const service = raw.service;
  if (typeof service !== 'string' || service === '') throw invalidArgument('service', 'is required, e.g. "summarizer"');
  checkName(service, 'service', SERVICE, 'lower-case letters, digits, ".", "_" and "-", starting with a letter or digit', limits.maxNameLength);
  if (typeof raw.version !== 'string' || raw.version === '') throw invalidArgument('version', 'is required: a semantic version like "1.4.2"');
  let version: string;
  try {
    version = new SemVer(raw.version).version;
  } catch {
    throw invalidArgument('version', `"${raw.version.slice(0, 64)}" is not a semantic version (expected e.g. "1.4.2")`);
  }
  return { agentId, service, version, tags: checkTags(raw.tags, limits), capabilities: checkCapabilities(raw.capabilities, limits), leaseTtlMs: clampLease(raw.leaseTtlMs, limits) };
}

export function generateAgentId(service: string, taken: (id: string) => boolean): string {
  for (let attempt = 0; attempt < 8; attempt++) {
    const id = `${service.slice(0, 100)}-${randomBytes(6).toString('hex')}`;
    if (!taken(id)) return id;
  }
  throw new Error('could not generate a free agent id after 8 attempts');
}

function checkName(value: string, field: string, pattern: RegExp, allowed: string, maxLength: number): void {
  if (value.length > maxLength) throw invalidArgument(field, `is ${value.length} characters long; the limit is ${maxLength}`);
  if (!pattern.test(value)) throw invalidArgument(field, `"${value.slice(0, 64)}" may contain only ${allowed}`);
}

function checkTags(tags: unknown, limits: Limits): Record<string, string> {
  if (tags === undefined || tags === null) return {};
  if (typeof tags !== 'object' || Array.isArray(tags)) throw invalidArgument('tags', 'must be a map of string to string');
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > limits.maxTags) throw invalidArgument('tags', `has ${entries.length} entries; the limit is ${limits.maxTags}`);
  const copy: Record<string, string> = {};
  for (const [key, value] of entries) {
    checkName(key, `tags.${key.slice(0, 64)}`, NAME, 'letters, digits, ".", "_", ":", "/" and "-" in a tag key', limits.maxNameLength);
    if (typeof value !== 'string') throw invalidArgument(`tags.${key}`, 'must be a string');
    if (value.length > limits.maxTagValueLength) throw invalidArgument(`tags.${key}`, `value is ${value.length} characters long; the limit is ${limits.maxTagValueLength}`);
    copy[key] = value;
  }
  return copy;
}

function checkCapabilities(capabilities: unknown, limits: Limits): string[] {
  if (capabilities === undefined || capabilities === null) return [];
  if (!Array.isArray(capabilities)) throw invalidArgument('capabilities', 'must be a list of strings');
  if (capabilities.length > limits.maxCapabilities) throw invalidArgument('capabilities', `has ${capabilities.length} entries; the limit is ${limits.maxCapabilities}`);
  const unique = new Set<string>();
  capabilities.forEach((capability: unknown, index) => {
    if (typeof capability !== 'string' || capability === '') throw invalidArgument(`capabilities[${index}]`, 'must be a non-empty string');
    checkName(capability, `capabilities[${index}]`, NAME, 'letters, digits, ".", "_", ":", "/" and "-"', limits.maxNameLength);
    unique.add(capability);
  });
  return [...unique];
}

function clampLease(requested: unknown, limits: Limits): number {
  const ttl = requested ?? 0;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0) throw invalidArgument('lease_ttl_ms', `must be a non-negative integer number of milliseconds, got ${String(ttl)}`);
  if (ttl === 0) return limits.defaultLeaseTtlMs;
  return Math.min(limits.maxLeaseTtlMs, Math.max(limits.minLeaseTtlMs, ttl));
}
