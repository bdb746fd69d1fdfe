/**
 * Model-based property test: any sequence of Session operations, split across requests with
 * early saves in between, leaves in the store exactly what a plain object model says.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { resolveOptions } from '../../../src/engine/options.js';
import { SessionEngine } from '../../../src/engine/SessionEngine.js';
import { createSession } from '../../../src/concrete/Session.js';
import { MemoryStore, type Session } from '../../../src/index.js';

// Few keys and many objects, so that sequences touching one object from several sides are common.
const KEYS = ['cart', 'n'] as const;
type Key = (typeof KEYS)[number];
type Op =
  | { op: 'set'; key: Key; value: unknown }
  | { op: 'delete'; key: Key }
  | { op: 'clear' }
  | { op: 'mutate'; key: Key; item: number }
  | { op: 'grab'; key: Key }
  | { op: 'mutateHeld'; key: Key; item: number }
  | { op: 'increment'; by: number }
  | { op: 'save' }
  | { op: 'nextRequest' };

const key = fc.constantFrom(...KEYS);
const value = fc.oneof(
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)) },
  { weight: 3, arbitrary: fc.record({ items: fc.array(fc.integer(), { maxLength: 3 }) }) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mutate' as const), key, item: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('grab' as const), key }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mutateHeld' as const), key, item: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('increment' as const), by: fc.integer({ min: -5, max: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'save' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'nextRequest' as const }) },
);

const stores: MemoryStore[] = [];
afterEach(() => stores.splice(0).forEach((store) => store.close()));

describe('Session (model-based)', () => {
  it('stores exactly what the model holds after any sequence of operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        const store = new MemoryStore({ sweepIntervalSeconds: 0 });
        stores.push(store);
        const engine = new SessionEngine(resolveOptions({ secret: 'model-based-test-secret-32-chars!!' }), store, createSession);
        const view = (id?: string) => ({ header: (name: string) => (name === 'x-session-id' ? id : undefined), encrypted: false });
        let session = (await engine.open(view())) as Session;
        const model: Record<string, unknown> = {};
        // The object the session holds per key, and references the "app" kept from earlier get()s.
        const live = new Map<Key, unknown>();
        const held = new Map<Key, { items: unknown[] }>();
        const isCart = (v: unknown): v is { items: unknown[] } => typeof v === 'object' && v !== null && Array.isArray((v as { items?: unknown }).items);
        for (const step of ops) {
          switch (step.op) {
            case 'set':
              session.set(step.key, step.value);
              model[step.key] = structuredClone(step.value);
              live.set(step.key, step.value);
              break;
            case 'delete':
              session.delete(step.key);
              delete model[step.key];
              live.delete(step.key);
              break;
            case 'clear':
              session.clear();
              for (const k of Object.keys(model)) delete model[k];
              live.clear();
              break;
            case 'mutate': {
              // In-place mutation of an object obtained from get(), as apps do with carts.
              const current = session.get(step.key) as { items?: unknown } | undefined;
              if (!live.has(step.key)) live.set(step.key, current);
              if (current && typeof current === 'object' && Array.isArray(current.items)) {
                current.items.push(step.item);
                (model[step.key] as { items: unknown[] }).items.push(step.item);
              }
              break;
            }
            case 'grab': {
              const current = session.get(step.key);
              if (live.has(step.key)) expect(current).toBe(live.get(step.key));
              else live.set(step.key, current);
              if (isCart(current)) held.set(step.key, current);
              break;
            }
            case 'mutateHeld': {
              // Mutating a kept reference: reaches the store only while the session still holds it.
              const cart = held.get(step.key);
              if (!cart) break;
              cart.items.push(step.item);
              if (live.get(step.key) === cart) (model[step.key] as { items: unknown[] }).items.push(step.item);
              break;
            }
            case 'increment': {
              const current = Object.hasOwn(model, 'n') ? model.n : 0;
              if (typeof current !== 'number') {
                await expect(session.increment('n', step.by)).rejects.toMatchObject({ kind: 'not-a-number' });
                break;
              }
              expect(await session.increment('n', step.by)).toBe(current + step.by);
              model.n = current + step.by;
              live.set('n', model.n);
              break;
            }
            case 'save':
              await session.save();
              break;
            case 'nextRequest':
              await engine.commit(session);
              session = (await engine.open(view(session.id))) as Session;
              live.clear();
              expect(session.toJSON()).toEqual(model);
              break;
          }
          // (No toJSON() here: it watches every object, which would hide a lost watch.)
          for (const k of KEYS) expect(session.has(k)).toBe(Object.hasOwn(model, k));
        }
        await engine.commit(session);
        const stored = await store.get(session.id);
        // A session that never stored anything has no record; otherwise the record is the model.
        expect(stored ?? {}).toEqual(model);
      }),
      {
        numRuns: 500,
        // Rare by chance, so given: objects the app still holds after an early write.
        examples: [
          [[
            { op: 'set', key: 'cart', value: { items: [] } },
            { op: 'nextRequest' },
            { op: 'grab', key: 'cart' },
            { op: 'set', key: 'n', value: 1 },
            { op: 'save' },
            { op: 'mutateHeld', key: 'cart', item: 7 },
            { op: 'nextRequest' },
          ]],
          [[
            { op: 'set', key: 'cart', value: { items: [1] } },
            { op: 'grab', key: 'cart' },
            { op: 'save' },
            { op: 'mutateHeld', key: 'cart', item: 2 },
            { op: 'increment', by: 1 },
            { op: 'mutateHeld', key: 'cart', item: 3 },
            { op: 'nextRequest' },
          ]],
        ],
      },
    );
  });
});
