import { LeaseWheel, UNSCHEDULED } from '../../plugins/registry-memory/lease-wheel';

interface Item {
  name: string;
  slot: number;
}

const item = (name: string): Item => ({ name, slot: UNSCHEDULED });

describe('registry-memory: lease timer wheel', () => {
  test('fires each deadline once, never early and at most one tick late', () => {
    const wheel = new LeaseWheel<Item>(100, 1_000);
    const a = item('a');
    const b = item('b');
    const c = item('c');
    wheel.schedule(a, 1_250);
    wheel.schedule(b, 1_300);
    wheel.schedule(c, 2_000);
    const fired: string[] = [];
    const fire = (entry: Item) => void fired.push(entry.name);

    wheel.sweep(1_249, fire);
    expect(fired).toEqual([]);
    wheel.sweep(1_299, fire);
    expect(fired).toEqual([]);
    wheel.sweep(1_300, fire);
    expect(fired).toEqual(['a', 'b']);
    wheel.sweep(1_999, fire);
    expect(fired).toEqual(['a', 'b']);
    wheel.sweep(5_000, fire);
    expect(fired).toEqual(['a', 'b', 'c']);
    wheel.sweep(9_000, fire);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(wheel.bucketCount()).toBe(0);
  });

  test('rescheduling moves an entry; cancel removes it; empty buckets are dropped', () => {
    const wheel = new LeaseWheel<Item>(100, 0);
    const a = item('a');
    wheel.schedule(a, 500);
    wheel.schedule(a, 900);
    expect(wheel.bucketCount()).toBe(1);
    const fired: string[] = [];
    wheel.sweep(600, (entry) => void fired.push(entry.name));
    expect(fired).toEqual([]);
    wheel.cancel(a);
    expect(wheel.bucketCount()).toBe(0);
    wheel.sweep(1_000, (entry) => void fired.push(entry.name));
    expect(fired).toEqual([]);
  });

  test('a deadline already past fires on the next sweep, and entries rescheduled while firing are not lost', () => {
    const wheel = new LeaseWheel<Item>(100, 1_000);
    const a = item('a');
    const b = item('b');
    wheel.schedule(a, 1_100);
    wheel.schedule(b, 1_100);
    const fired: string[] = [];
    let firstRound = true;
    wheel.sweep(1_100, (entry) => {
      fired.push(entry.name);
      if (!firstRound) return;
      firstRound = false;
      // Reschedule itself "now" (already due) and cancel its sibling in the same bucket.
      wheel.schedule(entry, 0);
      wheel.cancel(entry === a ? b : a);
    });
    expect(fired).toEqual(['a']);
    wheel.sweep(1_200, (entry) => void fired.push(entry.name));
    expect(fired).toEqual(['a', 'a']);
  });
});
