import { describe, expect, it } from '@jest/globals';
import { ChangeTracker } from '../../../src/core/ChangeTracker.js';
import { SessionError } from '../../../src/index.js';

describe('ChangeTracker', () => {
  it('has nothing to write until something changes', () => {
    const tracker = new ChangeTracker({ a: 1, b: { deep: [1] } });
    expect(tracker.get('a')).toBe(1);
    expect(tracker.get('b')).toEqual({ deep: [1] });
    expect(tracker.take()).toBeUndefined();
  });

  it('asks for the set and deleted fields only', () => {
    const tracker = new ChangeTracker({ a: 1, b: 2, c: 3 });
    tracker.set('a', 10);
    tracker.delete('b');
    tracker.set('d', 'new');
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { a: 10, b: undefined, d: 'new' } });
    expect(tracker.take()).toBeUndefined();
  });

  it('notices in-place mutation of objects handed out by get or toJSON, not of untouched ones', () => {
    const tracker = new ChangeTracker({ cart: { items: [] as string[] }, other: { x: 1 } });
    (tracker.get('cart') as { items: string[] }).items.push('apple');
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { cart: { items: ['apple'] } } });
    (tracker.toJSON().other as { x: number }).x = 2;
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { other: { x: 2 } } });
  });

  it('keeps watching an object after it was written, however it was obtained', () => {
    const tracker = new ChangeTracker(undefined);
    const cart = { items: [] as string[] };
    tracker.set('cart', cart);
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { cart: { items: [] } } });
    cart.items.push('pear');
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { cart: { items: ['pear'] } } });
  });

  it('keeps changes made while a write is in flight, and undo restores what a failed write took', () => {
    const tracker = new ChangeTracker(undefined);
    tracker.set('a', 1);
    const first = tracker.take()!;
    tracker.set('b', 2); // made while `first` is being written
    first.undo(); // `first` failed
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { a: 1, b: 2 } });
  });

  it('turns clear() into field deletions, and asks for the whole record after rewriteAll(), again after a failed one', () => {
    const tracker = new ChangeTracker({ a: 1, b: 2 });
    tracker.clear();
    tracker.set('c', 3);
    const cleared = tracker.take()!;
    expect(cleared.write).toEqual({ kind: 'fields', changes: { a: undefined, b: undefined, c: 3 } });
    cleared.undo();
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { a: undefined, b: undefined, c: 3 } });
    tracker.rewriteAll();
    const rewrite = tracker.take()!;
    expect(rewrite.write).toEqual({ kind: 'record', data: { c: 3 } });
    rewrite.undo();
    expect(tracker.take()?.write).toEqual({ kind: 'record', data: { c: 3 } });
  });

  it('undo makes an in-place change carried by a failed write pending again', () => {
    const tracker = new ChangeTracker({ cart: { items: ['apple'] } });
    (tracker.get('cart') as { items: string[] }).items.push('pear');
    const failed = tracker.take()!;
    failed.undo();
    expect(tracker.take()?.write).toEqual({ kind: 'fields', changes: { cart: { items: ['apple', 'pear'] } } });
  });

  it('settle() yields to a set or clear made after the version was taken', () => {
    const tracker = new ChangeTracker({ n: 1 });
    const before = tracker.version('n');
    tracker.set('n', 100);
    tracker.settle('n', 2, before);
    expect(tracker.get('n')).toBe(100);
    const again = tracker.version('n');
    tracker.clear();
    tracker.settle('n', 3, again);
    expect(tracker.has('n')).toBe(false);
  });

  it('reset() forgets values and pending changes; settle() records a stored value without a write', () => {
    const tracker = new ChangeTracker({ a: 1 });
    tracker.set('b', 2);
    tracker.reset();
    expect(tracker.toJSON()).toEqual({});
    expect(tracker.take()).toBeUndefined();
    tracker.set('n', 1);
    tracker.settle('n', 5, tracker.version('n'));
    expect(tracker.get('n')).toBe(5);
    expect(tracker.take()).toBeUndefined();
  });

  it('refuses bad keys and values with typed errors, changing nothing', () => {
    const tracker = new ChangeTracker({ a: 1 });
    for (const [key, value, kind] of [
      ['__proto__', 1, 'invalid-key'],
      ['', 1, 'invalid-key'],
      ['big', 10n, 'invalid-value'],
    ] as const) {
      let error: unknown;
      try {
        tracker.set(key, value);
      } catch (caught) {
        error = caught;
      }
      expect(SessionError.is(error) && error.kind).toBe(kind);
    }
    expect(tracker.toJSON()).toEqual({ a: 1 });
    expect(tracker.take()).toBeUndefined();
  });
});
