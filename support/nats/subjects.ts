/**
 * Subject-safe token for an agent id (ids may hold `.` and `:`): base64url, which NATS subjects,
 * consumer names and queue names all accept.
 */
export function agentToken(agentId: string): string {
  return Buffer.from(agentId, 'utf8').toString('base64url');
}
