/** How the embedded router picks a queue-group member: at most once, and for durable deliveries. */
import type { Session } from './session';
import type { QueueGroup } from './topic-trie';

/** Round-robin over members, preferring one with room in its queue. */
export function pickMember(members: readonly Session[], cursor: { next: number }): Session | undefined {
  const count = members.length;
  if (count === 0) return undefined;
  for (let i = 0; i < count; i++) {
    const member = members[cursor.next++ % count];
    if (!member.full) return member;
  }
  return members[cursor.next++ % count];
}

/**
 * Round-robin over the group's members for a durable delivery: never a paused member, and
 * `avoid` (the member the last attempt timed out on) or a member with a full queue only when no
 * other can take it. A group whose members are all paused holds its messages until one acks.
 */
export function durableMember(
  group: QueueGroup<Session>,
  avoid: Session | undefined,
  paused: { isPaused(member: Session): boolean },
): Session | undefined {
  const members = group.members;
  const count = members.length;
  let busy: Session | undefined;
  let avoided: Session | undefined;
  for (let i = 0; i < count; i++) {
    const member = members[group.next++ % count];
    if (paused.isPaused(member)) continue;
    if (member === avoid) avoided = member;
    else if (member.full) busy ??= member;
    else return member;
  }
  return busy ?? avoided;
}
