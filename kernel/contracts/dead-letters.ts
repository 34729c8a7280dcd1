/**
 * What a dead letter carries, the same from every router, so a consumer of the dead-letter topic
 * can read any router's: the original headers, plus why it died, after how many attempts, and
 * where it was going.
 */
import type { MessageEnvelope } from './message';

export function deadLetterHeaders(message: MessageEnvelope, reason: string, attempts: number): Record<string, string> {
  const headers: Record<string, string> = {
    ...message.headers,
    'x-dead-letter-reason': reason,
    'x-dead-letter-attempts': String(attempts),
    'x-original-id': message.id,
  };
  if (message.topic) headers['x-original-topic'] = message.topic;
  if (message.agentId) headers['x-original-agent'] = message.agentId;
  if (message.service) headers['x-original-service'] = message.service;
  return headers;
}
