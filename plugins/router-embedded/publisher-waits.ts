import type { OverflowPolicy } from '../../kernel';
import type { Session } from './session';

/**
 * Publisher backpressure: resolves once every session in `sessions` is back at its low-water
 * mark (or closed), or after `subscriberQueue.publisherWaitMs`. A session still behind then is
 * marked stalled: publishers no longer wait for it and its queue's overflow policy applies (the
 * at-most-once contract) until it drains, so one stuck subscriber costs each publisher one
 * bounded wait, not a stall. Counted in `router_publisher_waits_total` and `limitReached`.
 */
export function waitForRoom(
  sessions: readonly Session[],
  settings: { publisherWaitMs: number; policy: OverflowPolicy },
  waits: { room: number; timeout: number },
  limitReached: (limit: string, policy: string, detail: string) => void,
): Promise<void> {
  const bound = settings.publisherWaitMs;
  return new Promise((resolve) => {
    let waiting = sessions.length;
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      waits.timeout++;
      for (const session of sessions) {
        if (session.hasRoom || session.isClosed || session.stalled) continue;
        session.stalled = true;
        limitReached(
          'router.subscriberQueue.publisherWaitMs',
          settings.policy,
          `session ${session.id}${session.agentId ? ` (agent ${session.agentId})` : ''} did not drain within ${bound} ms`,
        );
      }
      resolve();
    }, bound);
    const onRoom = (): void => {
      if (--waiting > 0 || settled) return;
      settled = true;
      clearTimeout(timer);
      waits.room++;
      resolve();
    };
    for (const session of sessions) session.whenRoom(onRoom);
  });
}
