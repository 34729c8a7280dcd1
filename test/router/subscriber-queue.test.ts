import type { OutboundEvent } from '../../kernel';
import { SubscriberQueue } from '../../kernel';

const notice = (n: number): OutboundEvent => ({ kind: 'notice', code: 'n', message: String(n) });
const texts = (events: OutboundEvent[]) => events.map((e) => (e.kind === 'notice' ? e.message : '?'));

test('the ring grows on demand up to its capacity and keeps order across wrap-around', () => {
  const queue = new SubscriberQueue(100);
  for (let i = 0; i < 10; i++) queue.push(notice(i));
  expect(texts(queue.takeBatch(7))).toEqual(['0', '1', '2', '3', '4', '5', '6']);
  // head is now mid-ring: growing must unwrap it in order
  for (let i = 10; i < 107; i++) queue.push(notice(i));
  expect(queue.full).toBe(true);
  expect(queue.length).toBe(100);
  const all = texts(queue.clear());
  expect(all).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 7)));
});
