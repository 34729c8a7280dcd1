/**
 * Which local agents each transport session registered, so a closed session removes exactly its
 * agents. A session's set is dropped with its last agent, so the map is bounded by the agents.
 */
export class SessionBindings<T> {
  private readonly sessions = new Map<string, Set<T>>();

  bind(sessionId: string, item: T): void {
    let bound = this.sessions.get(sessionId);
    if (!bound) this.sessions.set(sessionId, (bound = new Set()));
    bound.add(item);
  }

  unbind(sessionId: string | undefined, item: T): void {
    if (sessionId === undefined) return;
    const bound = this.sessions.get(sessionId);
    if (!bound) return;
    bound.delete(item);
    if (bound.size === 0) this.sessions.delete(sessionId);
  }

  /** Forgets the session and returns what it had bound. */
  take(sessionId: string): Set<T> | undefined {
    const bound = this.sessions.get(sessionId);
    if (bound) this.sessions.delete(sessionId);
    return bound;
  }
}
