import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedMinHeap } from '../../../src/kube/keyed-heap.ts';

describe('KeyedMinHeap', () => {
  it('pops in priority order after random sets and deletes (checked against a sort)', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const heap = new KeyedMinHeap<string>();
    const model = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const key = `k${random(3000)}`;
      if (random(4) === 0) {
        assert.equal(heap.delete(key), model.delete(key));
      } else {
        const priority = random(1_000_000);
        heap.set(key, priority);
        model.set(key, priority);
      }
      assert.equal(heap.size, model.size);
    }
    const expected = [...model.values()].sort((a, b) => a - b);
    const popped: number[] = [];
    for (let e = heap.pop(); e; e = heap.pop()) popped.push(e.priority);
    assert.deepEqual(popped, expected);
  });

  it('keeps first-in, first-out order among equal priorities', () => {
    const heap = new KeyedMinHeap<string>();
    for (const key of ['a', 'b', 'c', 'd']) heap.set(key, 5);
    heap.set('a', 5); // re-set: now the newest
    const order: string[] = [];
    for (let e = heap.pop(); e; e = heap.pop()) order.push(e.key);
    assert.deepEqual(order, ['b', 'c', 'd', 'a']);
  });
});
