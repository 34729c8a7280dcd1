/**
 * Boundary validation: every field of every request is checked here, once, before anything is
 * handed to the registry or router, and the error names the field to fix (`message.topic`). Plain
 * regexes and loops only, because SendMessage runs this per message.
 */
import semver from 'semver';
import { invalidArgument, REPLY_TOPIC_PREFIX } from '../../kernel';
import type {
  AckRequest,
  AgentInfo,
  DiscoverRequest,
  HealthRequest,
  Message,
  SubscribeRequest,
  UpgradeRequest,
} from '../../proto/gen/openclaw/gateway/v1/gateway';

const AGENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SERVICE_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** One topic token: no wildcards, no dots, no whitespace. */
const TOPIC_TOKEN = /^[^.*>\s]+$/;
/** A whole concrete topic in one regex test: no per-message allocation on the send path. */
const TOPIC = /^[^.*>\s]+(?:\.[^.*>\s]+)*$/;
const QUEUE_GROUP = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_TOPIC_LENGTH = 256;
const MAX_TAGS = 64;
const MAX_TAG_KEY = 64;
const MAX_TAG_VALUE = 256;
const MAX_CAPABILITIES = 64;
const MAX_CAPABILITY = 128;
const MAX_HEADERS = 64;
const MAX_HEADER_VALUE = 4096;
const MAX_ID = 128;
const MAX_HOPS_LIMIT = 255;

export function checkAgentId(value: string, field: string): void {
  if (value === '') throw invalidArgument(field, 'is required');
  if (!AGENT_ID.test(value)) throw invalidArgument(field, `"${clip(value)}" must match [A-Za-z0-9._:-]{1,128}`);
}

export function checkServiceName(value: string, field: string): void {
  if (value === '') throw invalidArgument(field, 'is required');
  if (!SERVICE_NAME.test(value)) throw invalidArgument(field, `"${clip(value)}" must match [a-z0-9][a-z0-9._-]{0,127}`);
}

/** The last range found valid: callers repeat one range (parsing one costs ~1.5 µs). */
let lastValidRange = '';

export function checkVersionRange(value: string, field: string): void {
  if (value === '' || value === lastValidRange) return;
  if (semver.validRange(value) === null) throw invalidArgument(field, `"${clip(value)}" is not a semver range`);
  lastValidRange = value;
}

/** A concrete topic to publish to: dot-separated tokens, no wildcards. */
export function checkTopic(value: string, field: string): void {
  if (value.length > MAX_TOPIC_LENGTH) throw invalidArgument(field, `is longer than ${MAX_TOPIC_LENGTH} characters`);
  if (!TOPIC.test(value)) {
    throw invalidArgument(field, `"${clip(value)}" must be dot-separated non-empty tokens without wildcards (* >) or spaces`);
  }
}

/** A subscription pattern: `*` matches one token, `>` the rest (last token only). */
export function checkTopicPattern(value: string, field: string): void {
  if (value === '') throw invalidArgument(field, 'is required');
  if (value.length > MAX_TOPIC_LENGTH) throw invalidArgument(field, `is longer than ${MAX_TOPIC_LENGTH} characters`);
  const tokens = value.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '*') continue;
    if (token === '>') {
      if (i !== tokens.length - 1) throw invalidArgument(field, `"${clip(value)}": ">" is only allowed as the last token`);
      continue;
    }
    if (!TOPIC_TOKEN.test(token)) {
      throw invalidArgument(field, `"${clip(value)}" must be dot-separated non-empty tokens, "*" or a final ">"`);
    }
  }
}

function checkTags(tags: Record<string, string>, field: string): void {
  let count = 0;
  for (const key in tags) {
    if (++count > MAX_TAGS) throw invalidArgument(field, `has more than ${MAX_TAGS} entries`);
    if (key === '' || key.length > MAX_TAG_KEY) throw invalidArgument(`${field}.${clip(key)}`, `key must be 1..${MAX_TAG_KEY} characters`);
    if (tags[key].length > MAX_TAG_VALUE)
      throw invalidArgument(`${field}.${clip(key)}`, `value is longer than ${MAX_TAG_VALUE} characters`);
  }
}

function checkCapabilities(capabilities: readonly string[], field: string): void {
  if (capabilities.length > MAX_CAPABILITIES) throw invalidArgument(field, `has more than ${MAX_CAPABILITIES} entries`);
  for (let i = 0; i < capabilities.length; i++) {
    const capability = capabilities[i];
    if (capability === '' || capability.length > MAX_CAPABILITY) {
      throw invalidArgument(`${field}[${i}]`, `must be 1..${MAX_CAPABILITY} characters`);
    }
  }
}

export function checkAgentInfo(info: AgentInfo): void {
  if (info.agentId !== '') checkAgentId(info.agentId, 'agent.agent_id');
  checkServiceName(info.service, 'agent.service');
  if (info.version === '') throw invalidArgument('agent.version', 'is required');
  if (semver.valid(info.version) === null)
    throw invalidArgument('agent.version', `"${clip(info.version)}" is not a semantic version (e.g. 1.4.2)`);
  checkTags(info.tags, 'agent.tags');
  checkCapabilities(info.capabilities, 'agent.capabilities');
}

/**
 * `prefix` is `message` for SendMessage/Request and `messages` with the message's `index` for
 * batches. Field names (`messages[3].topic`) are only built for a refusal: this runs per message.
 */
export function checkMessage(message: Message, prefix: string, index = -1): void {
  const targets = (message.topic !== '' ? 1 : 0) + (message.agentId !== '' ? 1 : 0) + (message.service !== '' ? 1 : 0);
  if (targets !== 1) {
    throw invalidArgument(
      targets === 0 ? `${at(prefix, index)}.topic` : `${at(prefix, index)}.target`,
      targets === 0 ? 'exactly one of topic, agent_id or service is required' : 'exactly one of topic, agent_id or service may be set',
    );
  }
  if (message.topic !== '') {
    if (!isTopic(message.topic)) checkTopic(message.topic, `${at(prefix, index)}.topic`);
  } else if (message.agentId !== '') {
    if (!AGENT_ID.test(message.agentId)) checkAgentId(message.agentId, `${at(prefix, index)}.agent_id`);
  } else if (!SERVICE_NAME.test(message.service)) checkServiceName(message.service, `${at(prefix, index)}.service`);
  if (message.versionRange !== '') {
    if (message.service === '') throw invalidArgument(`${at(prefix, index)}.version_range`, 'is only allowed with a service target');
    checkVersionRange(message.versionRange, `${at(prefix, index)}.version_range`);
  }
  if (message.id.length > MAX_ID) throw invalidArgument(`${at(prefix, index)}.id`, `is longer than ${MAX_ID} characters`);
  if (message.senderId !== '' && !AGENT_ID.test(message.senderId)) checkAgentId(message.senderId, `${at(prefix, index)}.sender_id`);
  if (message.correlationId.length > MAX_ID) {
    throw invalidArgument(`${at(prefix, index)}.correlation_id`, `is longer than ${MAX_ID} characters`);
  }
  if (message.replyTo !== '') {
    if (!message.replyTo.startsWith(REPLY_TOPIC_PREFIX))
      throw invalidArgument(`${at(prefix, index)}.reply_to`, `must start with "${REPLY_TOPIC_PREFIX}"`);
    if (!isTopic(message.replyTo)) checkTopic(message.replyTo, `${at(prefix, index)}.reply_to`);
  }
  if (message.maxHops > MAX_HOPS_LIMIT) throw invalidArgument(`${at(prefix, index)}.max_hops`, `must be at most ${MAX_HOPS_LIMIT}`);
  if (message.key.length > MAX_ID) throw invalidArgument(`${at(prefix, index)}.key`, `is longer than ${MAX_ID} characters`);
  if (message.contentType.length > MAX_ID) {
    throw invalidArgument(`${at(prefix, index)}.content_type`, `is longer than ${MAX_ID} characters`);
  }
  let headers = 0;
  for (const name in message.headers) {
    if (++headers > MAX_HEADERS) throw invalidArgument(`${at(prefix, index)}.headers`, `has more than ${MAX_HEADERS} entries`);
    if (name === '' || name.length > MAX_TAG_KEY)
      throw invalidArgument(`${at(prefix, index)}.headers`, `header names must be 1..${MAX_TAG_KEY} characters`);
    if (message.headers[name].length > MAX_HEADER_VALUE) {
      throw invalidArgument(`${at(prefix, index)}.headers.${clip(name)}`, `is longer than ${MAX_HEADER_VALUE} characters`);
    }
  }
}

/** `messages[3]` for a batch's message, `message` for a single one. */
function at(prefix: string, index: number): string {
  return index < 0 ? prefix : `${prefix}[${index}]`;
}

/** The last topic `isTopic` accepted: a batch repeats one topic, and an equal string is cheaper than the regex. */
let lastTopic: string | undefined;

/** What `checkTopic` accepts, as a test. */
function isTopic(value: string): boolean {
  if (value === lastTopic) return true;
  if (value.length > MAX_TOPIC_LENGTH || !TOPIC.test(value)) return false;
  lastTopic = value;
  return true;
}

export function checkBatch(messages: readonly Message[], maxMessages: number, field = 'messages'): void {
  if (messages.length === 0) throw invalidArgument(field, 'must contain at least one message');
  if (messages.length > maxMessages) throw invalidArgument(field, `has ${messages.length} messages, more than the limit of ${maxMessages}`);
}

export function checkDiscover(query: DiscoverRequest): void {
  if (query.service !== '') checkServiceName(query.service, 'query.service');
  checkVersionRange(query.versionRange, 'query.version_range');
  checkTags(query.tags, 'query.tags');
  checkCapabilities(query.capabilities, 'query.capabilities');
}

export function checkAck(request: AckRequest, maxAcks: number): void {
  if (request.agentId !== '') checkAgentId(request.agentId, 'agent_id');
  if (request.acks.length === 0) throw invalidArgument('acks', 'must contain at least one item');
  if (request.acks.length > maxAcks) throw invalidArgument('acks', `has more than ${maxAcks} items`);
  for (let i = 0; i < request.acks.length; i++) {
    const item = request.acks[i];
    if (item.deliveryTag === '' || item.deliveryTag.length > 256)
      throw invalidArgument(`acks[${i}].delivery_tag`, 'must be 1..256 characters');
    if (item.kind < 0 || item.kind > 2) throw invalidArgument(`acks[${i}].kind`, 'must be ACK, NACK or IN_PROGRESS');
  }
}

export function checkSubscribe(request: SubscribeRequest, maxTopics: number): void {
  if (request.agentId !== '') checkAgentId(request.agentId, 'agent_id');
  if (request.agentId === '' && request.topics.length === 0 && !request.registryEvents) {
    throw invalidArgument('topics', 'subscribe to an agent inbox (agent_id), topics or registry_events');
  }
  if (request.topics.length > maxTopics) throw invalidArgument('topics', `has more than ${maxTopics} entries`);
  for (let i = 0; i < request.topics.length; i++) {
    checkTopicPattern(request.topics[i].pattern, `topics[${i}].pattern`);
    const group = request.topics[i].queueGroup;
    if (group !== '' && !QUEUE_GROUP.test(group)) throw invalidArgument(`topics[${i}].queue_group`, 'must match [A-Za-z0-9._:-]{1,128}');
  }
}

export function checkHealth(request: HealthRequest): void {
  if (request.agentId !== '') checkAgentId(request.agentId, 'agent_id');
  if (request.probeId !== '') {
    if (request.agentId === '') throw invalidArgument('agent_id', 'is required with probe_id');
    if (request.probeId.length > MAX_ID) throw invalidArgument('probe_id', `is longer than ${MAX_ID} characters`);
  }
}

export function checkUpgrade(request: UpgradeRequest): void {
  checkAgentId(request.agentId, 'agent_id');
  if (request.command === '' && request.version === '' && request.args.length === 0) {
    throw invalidArgument('version', 'an upgrade needs a new version, command or args');
  }
  if (request.version !== '' && semver.valid(request.version) === null) {
    throw invalidArgument('version', `"${clip(request.version)}" is not a semantic version`);
  }
}

/** Echoing client input into errors: keep it short so a huge field cannot bloat the status. */
function clip(value: string): string {
  return value.length > 64 ? `${value.slice(0, 61)}...` : value;
}
