/**
 * Hung queue-group members. A member whose durable deliveries keep timing out (stopped process,
 * connection still open) would otherwise get its group's redeliveries back until their attempts
 * run out. After `durable.pauseAfterTimeouts` ack timeouts in a row it is paused: it gets no group
 * deliveries and what it holds is handed to the other members, until it acks (or nacks, or
 * extends) anything again — also a late ack of a delivery already taken back from it.
 *
 * Bounded: one state per open session (dropped when it closes), and the tags taken back from
 * paused or timed-out members are capped (`MAX_TAKEN_BACK`, oldest forgotten).
 */
import type { Session } from './session';

const MAX_TAKEN_BACK = 10_000;

interface MemberState {
  timeouts: number;
  paused: boolean;
}

export class MemberPause {
  private readonly members = new Map<Session, MemberState>();
  /** Tag of a delivery taken back from a member → that member, so its late ack counts as alive. */
  private readonly takenBack = new Map<string, Session>();

  constructor(private readonly pauseAfter: number) {}

  get pausedCount(): number {
    let count = 0;
    for (const state of this.members.values()) if (state.paused) count++;
    return count;
  }

  isPaused(session: Session): boolean {
    return this.members.get(session)?.paused === true;
  }

  /** An ack timeout on `session`; true when it just became paused (its in-flight should move). */
  timedOut(session: Session, tag: string): boolean {
    this.rememberTakenBack(tag, session);
    let state = this.members.get(session);
    if (!state) {
      state = { timeouts: 0, paused: false };
      this.members.set(session, state);
    }
    state.timeouts++;
    if (state.paused || state.timeouts < this.pauseAfter) return false;
    state.paused = true;
    return true;
  }

  /** A delivery taken from a paused member to give to another one. */
  movedAway(session: Session, tag: string): void {
    this.rememberTakenBack(tag, session);
  }

  /**
   * The member behind an ack (the holder of the current attempt, else the member an earlier
   * attempt was taken back from) showed it is alive. True when that un-paused it.
   */
  alive(holder: Session | undefined, tag: string): Session | undefined {
    const session = holder ?? this.takenBack.get(tag);
    if (!session) return undefined;
    this.takenBack.delete(tag);
    const state = this.members.get(session);
    if (!state) return undefined;
    const wasPaused = state.paused;
    this.members.delete(session);
    return wasPaused ? session : undefined;
  }

  closed(session: Session): void {
    this.members.delete(session);
    // Its tags can never be acked by it any more; and they would keep the closed session alive.
    for (const [tag, holder] of this.takenBack) if (holder === session) this.takenBack.delete(tag);
  }

  private rememberTakenBack(tag: string, session: Session): void {
    if (this.takenBack.size >= MAX_TAKEN_BACK) this.takenBack.delete(this.takenBack.keys().next().value as string);
    this.takenBack.set(tag, session);
  }
}
