/**
 * adapters/state.ts: `SessionRegistry` exposes `request.state.sessionId` (following the session's
 * id) and remembers each request's `Session` for `sessionOf`.
 */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { SessionRegistry } from '../../../src/engine/state.js';
import { SessionEngine } from '../../../src/engine/SessionEngine.js';
import { createSession } from '../../../src/concrete/Session.js';
import { resolveOptions } from '../../../src/engine/options.js';
import { MemoryStore, type Session, type SessionState } from '../../../src/index.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;

type WithState = { state?: SessionState & Record<string, unknown> };

function stateOf(request: object): (SessionState & Record<string, unknown>) | undefined {
  return (request as WithState).state;
}

describe('adapters/state: SessionRegistry', () => {
  const stores: MemoryStore[] = [];
  afterEach(() => {
    stores.splice(0).forEach((store) => store.close());
  });

  /** A real fresh Session from a real engine and MemoryStore. */
  async function freshSession(): Promise<{ session: Session; store: MemoryStore }> {
    const store = new MemoryStore({ sweepIntervalSeconds: 0 });
    stores.push(store);
    const engine = new SessionEngine(resolveOptions({ secret: SECRET }), store, createSession);
    const session = await engine.open({ header: () => undefined, encrypted: false });
    if (!session) throw new Error('the engine opened no session');
    return { session, store };
  }

  it('creates request.state when it is missing, with sessionId set to the session id', async () => {
    const { session } = await freshSession();
    const registry = new SessionRegistry();
    const request: object = {};
    registry.attach(request, session);
    expect(stateOf(request)).toBeDefined();
    expect(stateOf(request)!.sessionId).toBe(session.id);
    expect(session.id).toMatch(TOKEN_SHAPE);
    expect(registry.get(request)).toBe(session);
  });

  it('keeps the existing state object and its other fields', async () => {
    const { session } = await freshSession();
    const registry = new SessionRegistry();
    const state = { user: 'ada', traceId: 't-1' };
    const request = { state };
    registry.attach(request, session);
    expect(request.state).toBe(state);
    expect(stateOf(request)).toMatchObject({ user: 'ada', traceId: 't-1', sessionId: session.id });
  });

  it('replaces a state that is not an object (null, a string)', async () => {
    const { session } = await freshSession();
    const registry = new SessionRegistry();
    for (const value of [null, 'not-an-object']) {
      const request = { state: value as unknown };
      registry.attach(request, session);
      expect(typeof request.state).toBe('object');
      expect(stateOf(request)!.sessionId).toBe(session.id);
    }
  });

  it('makes sessionId an enumerable property, so it shows in JSON and Object.keys', async () => {
    const { session } = await freshSession();
    const registry = new SessionRegistry();
    const request = { state: { user: 'ada' } };
    registry.attach(request, session);
    expect(Object.keys(request.state)).toEqual(['user', 'sessionId']);
    expect(JSON.parse(JSON.stringify(request.state))).toEqual({ user: 'ada', sessionId: session.id });
  });

  it('works on real Web Request and Node IncomingMessage objects', async () => {
    const { session } = await freshSession();
    const registry = new SessionRegistry();
    const web = new Request('http://localhost/');
    const node = new IncomingMessage(new Socket());
    registry.attach(web, session);
    registry.attach(node, session);
    expect(stateOf(web)!.sessionId).toBe(session.id);
    expect(stateOf(node)!.sessionId).toBe(session.id);
    expect(registry.get(web)).toBe(session);
    expect(registry.get(node)).toBe(session);
  });

  it('makes sessionId follow the session id after regenerate()', async () => {
    const { session, store } = await freshSession();
    const registry = new SessionRegistry();
    const request = {};
    registry.attach(request, session);
    session.set('user', 'ada');
    await session.save();
    const before = session.id;
    await session.regenerate();
    expect(session.id).not.toBe(before);
    expect(stateOf(request)!.sessionId).toBe(session.id);
    expect(await store.get(session.id)).toEqual({ user: 'ada' });
    expect(await store.load(before)).toEqual({ state: 'destroyed' });
  });

  it('leaves state.sessionId undefined and get() undefined for attach(request, undefined)', () => {
    const registry = new SessionRegistry();
    const request = { state: { user: 'ada' } };
    registry.attach(request, undefined);
    expect(stateOf(request)!.sessionId).toBeUndefined();
    expect('sessionId' in request.state).toBe(true);
    expect(stateOf(request)!['user']).toBe('ada');
    expect(registry.get(request)).toBeUndefined();
  });

  it('knows only the requests it attached, per registry', async () => {
    const { session } = await freshSession();
    const registry = new SessionRegistry();
    const other = new SessionRegistry();
    const request = {};
    registry.attach(request, session);
    expect(registry.get({})).toBeUndefined();
    expect(other.get(request)).toBeUndefined();
  });

  it('re-attaching a request points state.sessionId and get() at the new session', async () => {
    const first = await freshSession();
    const second = await freshSession();
    const registry = new SessionRegistry();
    const request = {};
    registry.attach(request, first.session);
    registry.attach(request, second.session);
    expect(stateOf(request)!.sessionId).toBe(second.session.id);
    expect(registry.get(request)).toBe(second.session);
  });
});
