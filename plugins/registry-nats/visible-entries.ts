/** The entries discovery can see, by service; an entry of a dead gateway is hidden, not forgotten. */
import type { AgentRecord } from '../../kernel';

export class VisibleEntries<E extends { record: AgentRecord; visible: boolean }> {
  readonly byService = new Map<string, Set<E>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  show(entry: E): void {
    if (entry.visible) return;
    entry.visible = true;
    this.count++;
    let set = this.byService.get(entry.record.service);
    if (!set) this.byService.set(entry.record.service, (set = new Set()));
    set.add(entry);
  }

  hide(entry: E): void {
    if (!entry.visible) return;
    entry.visible = false;
    this.count--;
    const set = this.byService.get(entry.record.service);
    if (!set) return;
    set.delete(entry);
    if (set.size === 0) this.byService.delete(entry.record.service);
  }
}
