/**
 * Attacks on the id through real Express 5 apps on real sockets: floods of made-up ids, forged,
 * tampered, destroyed and client-chosen ids, secret rotation, header abuse (oversized, separators,
 * duplicates, CRLF), a fast-check property over arbitrary header and cookie values, and the
 * lifecycle log (hashed ids only).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import fc from 'fast-check';
import { hashId } from '../../src/core/logger.js';
import { MemoryStore, SessionError, SessionMiddleware, type SessionEvent, type SessionLogger, type SessionMiddlewareOptions } from '../../src/index.js';
import { FlakyStore } from '../support/failingStores.js';
import {
  ISSUED_ID,
  cookieValue,
  flipChar,
  inBatches,
  listenApp,
  nodeRequest,
  parseRaw,
  rawRequest,
  type Running,
} from '../support/http.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';

type Mount = 'dispatch' | 'express()';

function makeApp(mw: SessionMiddleware, mount: Mount = 'dispatch'): Express {
  const app = express();
  if (mount === 'dispatch') app.use((req, res, next) => mw.dispatch(req, next));
  else app.use(mw.express());
  app.get('/peek', (req, res) => {
    res.json({ id: req.state.sessionId, data: req.session.toJSON() });
  });
  app.get('/nothing', (_req, res) => {
    res.send('ok');
  });
  app.get('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.query)) req.session.set(key, value as string);
    res.json({ id: req.state.sessionId });
  });
  app.get('/destroy', async (req, res) => {
    await req.session.destroy();
    res.json({ destroyed: true });
  });
  app.get('/regenerate', async (req, res) => {
    await req.session.regenerate();
    res.json({ id: req.state.sessionId });
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(SessionError.is(err) ? err.status : 500).json({ error: err instanceof Error ? err.message : String(err) });
  });
  return app;
}

interface Harness {
  store: MemoryStore;
  mw: SessionMiddleware;
  server: Running;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

async function start(options: SessionMiddlewareOptions = {}, store: MemoryStore = new MemoryStore(), mount: Mount = 'dispatch'): Promise<Harness> {
  const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, ...options });
  const server = await listenApp(makeApp(mw, mount));
  return {
    store,
    mw,
    server,
    get: (path, headers = {}) => fetch(server.url + path, { headers, redirect: 'manual' }),
    close: async () => {
      await server.close();
      store.close();
    },
  };
}

/**
 * The id a response hands out: in X-Session-ID, or, for a client that presented a session
 * cookie (which never gets the id in a header), in the Set-Cookie line.
 */
function sid(response: Response): string {
  const id = response.headers.get('x-session-id') ?? cookieValue(response, 'session_id') ?? null;
  if (id === null || id === '') throw new Error(`no session id on ${response.status} response`);
  return id;
}

/** A well-formed id of our shape that no server issued. */
function forgedId(): string {
  return `${'Q'.repeat(22)}.${Math.floor(Date.now() / 1000).toString(36)}.${'Z'.repeat(24)}`;
}

/** All response header lines as one string, to check nothing the client sent is echoed. */
function allHeaders(response: Response): string {
  return [...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
}

describe.each(['dispatch', 'express()'] as const)('id attacks (%s)', (mount) => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('flood: 1,000 requests with made-up, junk or no ids leave the store empty and each get a fresh signed id', async () => {
    h = await start({}, new MemoryStore(), mount);
    const issuedBefore = sid(await h.get('/nothing'));
    const sent: Array<string | undefined> = [];
    const responses = await inBatches(1000, 50, async (i) => {
      let value: string | undefined;
      let headers: Record<string, string> = {};
      if (i % 4 === 0) {
        value = forgedId().replace(/^Q{4}/, String(i).padStart(4, '0'));
        headers = { 'X-Session-ID': value };
      } else if (i % 4 === 1) {
        value = `made-up-client-id-${i}`;
        headers = { cookie: `session_id=${value}` };
      } else if (i % 4 === 2) {
        value = `junk<${i}>;,"\\ ${'x'.repeat(i % 200)}`;
        headers = { 'X-Session-ID': value };
      }
      sent[i] = value;
      const response = await h.get(i % 8 === 7 ? '/peek' : '/nothing', headers);
      await response.arrayBuffer();
      return response;
    });
    const ids = new Set<string>();
    responses.forEach((response, i) => {
      expect(response.status).toBe(200);
      const id = sid(response);
      expect(id).toMatch(ISSUED_ID);
      expect(id).not.toBe(sent[i]);
      expect(id).not.toBe(issuedBefore);
      ids.add(id);
    });
    expect(ids.size).toBe(1000);
    expect(await h.store.length()).toBe(0);
  });

  it('a forged (well-formed, never issued) id is rejected: new id issued, nothing stored under it', async () => {
    h = await start({}, new MemoryStore(), mount);
    const forged = forgedId();
    const response = await h.get('/set?x=1', { 'X-Session-ID': forged });
    const id = sid(response);
    expect(id).not.toBe(forged);
    expect(id).toMatch(ISSUED_ID);
    expect(await h.store.get(forged)).toBeUndefined();
    expect(await h.store.load(forged)).toBeUndefined();
    expect(await h.store.get(id)).toEqual({ x: '1' });
    expect(await h.store.length()).toBe(1);
    // A client-chosen name is refused the same way (fixation).
    const fixation = await h.get('/set?y=2', { cookie: 'session_id=attacker-chosen-id-123' });
    expect(sid(fixation)).not.toBe('attacker-chosen-id-123');
    expect(await h.store.get('attacker-chosen-id-123')).toBeUndefined();
  });

  it.each([
    ['signature', (id: string) => id.length - 3],
    ['random', () => 5],
  ])('a real id with one character of its %s part flipped is rejected', async (_part, at) => {
    h = await start({}, new MemoryStore(), mount);
    const real = sid(await h.get('/set?secret=yes'));
    const tampered = flipChar(real, at(real));
    expect(tampered).not.toBe(real);
    expect(tampered).toMatch(ISSUED_ID);
    const response = await h.get('/peek', { 'X-Session-ID': tampered });
    const body = (await response.json()) as { data: Record<string, unknown> };
    const id = sid(response);
    expect(id).not.toBe(tampered);
    expect(id).not.toBe(real);
    expect(body.data).toEqual({});
    expect(await h.store.get(tampered)).toBeUndefined();
    // The real id still works.
    const ok = await h.get('/peek', { 'X-Session-ID': real });
    expect(sid(ok)).toBe(real);
    expect(((await ok.json()) as { data: Record<string, unknown> }).data).toEqual({ secret: 'yes' });
  });
});

describe('acceptClientIds: true (the Python behaviour, opt-in)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start({ acceptClientIds: true });
  });
  afterAll(async () => {
    await h.close();
  });

  it('adopts a well-formed client id and stores under it', async () => {
    const response = await h.get('/set?cart=3', { 'X-Session-ID': 'my-client-session-1' });
    expect(sid(response)).toBe('my-client-session-1');
    expect(cookieValue(response, 'session_id')).toBe('my-client-session-1');
    expect(await h.store.get('my-client-session-1')).toEqual({ cart: '3' });
    const again = await h.get('/peek', { 'X-Session-ID': 'my-client-session-1' });
    expect(((await again.json()) as { data: Record<string, unknown> }).data).toEqual({ cart: '3' });
  });

  it.each([
    ['129 characters', 'a'.repeat(129)],
    // Long enough to be well-formed but for the separator: only the alphabet check refuses these.
    ['a ";"', 'abcd;efgh'],
    ['a ","', 'abcd,efgh'],
    ['";" and "," carrying cookie attributes', 'client-session-1;Path=/evil,Domain=evil.example'],
    ['7 characters', 'abcdefg'],
  ])('still treats a malformed id (%s) as absent', async (_what, bad) => {
    const response = await h.get('/set?z=1', { 'X-Session-ID': bad });
    const id = sid(response);
    expect(id).not.toBe(bad);
    expect(id).toMatch(ISSUED_ID);
    expect(cookieValue(response, 'session_id')).toBe(id);
    expect(allHeaders(response)).not.toContain(bad);
    expect(await h.store.get(bad)).toBeUndefined();
  });

  it('still rejects a destroyed client id', async () => {
    const name = 'my-client-session-2';
    expect(sid(await h.get('/set?a=1', { 'X-Session-ID': name }))).toBe(name);
    const destroyed = await h.get('/destroy', { 'X-Session-ID': name });
    expect(destroyed.headers.get('x-session-id')).toBeNull();
    const replay = await h.get('/set?b=2', { 'X-Session-ID': name });
    expect(sid(replay)).not.toBe(name);
    expect(await h.store.get(name)).toBeUndefined();
    expect(await h.store.get(sid(replay))).toEqual({ b: '2' });
  });

  it('still rejects a tampered issued id', async () => {
    const real = sid(await h.get('/set?a=1'));
    const tampered = flipChar(real, real.length - 1);
    const response = await h.get('/set?c=1', { 'X-Session-ID': tampered });
    expect(sid(response)).not.toBe(tampered);
    expect(await h.store.get(tampered)).toBeUndefined();
  });
});

describe('secret rotation', () => {
  it('an id signed with A is accepted by ["B", "A"], which moves the client to a B-signed id of the same session; ["B"] refuses the A id (same store)', async () => {
    const store = new MemoryStore();
    const secretA = 'secret-A-is-at-least-32-characters-long!';
    const secretB = 'secret-B-is-at-least-32-characters-long!';
    const a = await start({ secret: secretA }, store);
    const rotated = await start({ secret: [secretB, secretA] }, store);
    const onlyB = await start({ secret: secretB }, store);
    try {
      const id = sid(await a.get('/set?user=alice'));
      const accepted = await rotated.get('/peek', { 'X-Session-ID': id });
      // Re-signed: same random part, B's signature, same record (ids are hashed by their random part).
      const resigned = sid(accepted)!;
      expect(resigned).not.toBe(id);
      expect(resigned.split('.').slice(0, 2)).toEqual(id.split('.').slice(0, 2));
      expect(((await accepted.json()) as { data: Record<string, unknown> }).data).toEqual({ user: 'alice' });
      expect(((await (await onlyB.get('/peek', { 'X-Session-ID': resigned })).json()) as { data: Record<string, unknown> }).data).toEqual({ user: 'alice' });
      // Unstored ids too: the signature, not the store, is what makes them ours.
      const unstored = sid(await a.get('/nothing'));
      expect(sid(await rotated.get('/nothing', { 'X-Session-ID': unstored }))).toBe(unstored);

      const refused = await onlyB.get('/peek', { 'X-Session-ID': id });
      expect(sid(refused)).not.toBe(id);
      expect(((await refused.json()) as { data: Record<string, unknown> }).data).toEqual({});
      // New ids from the rotated middleware are signed with B, so the B-only one accepts them.
      const fromRotated = sid(await rotated.get('/nothing'));
      expect(sid(await onlyB.get('/nothing', { 'X-Session-ID': fromRotated }))).toBe(fromRotated);
    } finally {
      await a.server.close();
      await rotated.server.close();
      await onlyB.server.close();
      store.close();
    }
  });
});

describe('header abuse', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => {
    await h.close();
  });

  it('an oversized X-Session-ID (5,000 characters) gets a new session, 200, nothing echoed', async () => {
    const huge = 'A'.repeat(5000);
    const response = await h.get('/peek', { 'X-Session-ID': huge });
    expect(response.status).toBe(200);
    expect(sid(response)).toMatch(ISSUED_ID);
    expect(allHeaders(response)).not.toContain('A'.repeat(100));
    expect(await response.text()).not.toContain('A'.repeat(100));
    expect(await h.store.length()).toBe(0);
  });

  it('an oversized cookie value gets a new session, 200, nothing echoed', async () => {
    const huge = 'B'.repeat(5000);
    const response = await h.get('/peek', { cookie: `session_id=${huge}` });
    expect(response.status).toBe(200);
    expect(sid(response)).toMatch(ISSUED_ID);
    expect(allHeaders(response)).not.toContain('B'.repeat(100));
  });

  it('a header value with ";" and "," is treated as absent and never echoed', async () => {
    const real = sid(await h.get('/nothing'));
    for (const value of [`${real};Path=/evil`, `${real}, ${real}`, 'abcdefgh;Domain=evil.example,x=y']) {
      const response = await h.get('/peek', { 'X-Session-ID': value });
      expect(response.status).toBe(200);
      const id = sid(response);
      expect(id).toMatch(ISSUED_ID);
      expect(id).not.toBe(real);
      expect(allHeaders(response)).not.toContain(value);
      expect(allHeaders(response)).not.toMatch(/evil/);
    }
  });

  it('two X-Session-ID headers carrying two valid ids are not adopted', async () => {
    const a = sid(await h.get('/set?who=a'));
    const b = sid(await h.get('/set?who=b'));
    const response = await nodeRequest(`${h.server.url}/peek`, { 'X-Session-ID': [a, b] });
    expect(response.status).toBe(200);
    const id = response.headers['x-session-id'];
    expect(typeof id).toBe('string');
    expect(id).toMatch(ISSUED_ID);
    expect(id).not.toBe(a);
    expect(id).not.toBe(b);
    expect(JSON.parse(response.body).data).toEqual({});
    // The same id twice is still ambiguous and refused.
    const twice = await nodeRequest(`${h.server.url}/peek`, { 'X-Session-ID': [a, a] });
    expect(twice.status).toBe(200);
    expect(twice.headers['x-session-id']).toMatch(ISSUED_ID);
    expect(twice.headers['x-session-id']).not.toBe(a);
    expect(JSON.parse(twice.body).data).toEqual({});
  });

  it('CRLF in a raw request never produces an injected response header and does not crash the server', async () => {
    const real = sid(await h.get('/nothing'));
    // Node's parser refuses a bare CR or LF inside a header line (400, the app never runs); the
    // other requests are well-formed HTTP and must be served with a fresh issued id.
    const attempts: Array<[string, 200 | 400]> = [
      [`GET /peek HTTP/1.1\r\nHost: x\r\nX-Session-ID: abc\r\nX-Evil: 1\r\nConnection: close\r\n\r\n`, 200],
      [`GET /peek HTTP/1.1\r\nHost: x\r\nX-Session-ID: ${real}\r\nX-Evil: 1\r\nConnection: close\r\n\r\n`, 200],
      [`GET /peek HTTP/1.1\r\nHost: x\r\nX-Session-ID: abcdefgh\rX-Evil: 1\r\nConnection: close\r\n\r\n`, 400],
      [`GET /peek HTTP/1.1\r\nHost: x\r\nX-Session-ID: abcdefgh\nX-Evil: 1\r\nConnection: close\r\n\r\n`, 400],
      [`GET /peek HTTP/1.1\r\nHost: x\r\nCookie: session_id=abcdefgh\r\nX-Evil: 1\r\nConnection: close\r\n\r\n`, 200],
      [`GET /peek HTTP/1.1\r\nHost: x\r\nX-Session-ID: abc%0d%0aX-Evil:%201\r\nConnection: close\r\n\r\n`, 200],
    ];
    for (const [text, status] of attempts) {
      const raw = await rawRequest(h.server.port, text);
      const parsed = parseRaw(raw);
      expect(parsed.status).toBe(status);
      expect(parsed.headers.some(([name]) => name === 'x-evil')).toBe(false);
      for (const [, value] of parsed.headers) expect(value).not.toMatch(/X-Evil/i);
      const ids = parsed.headers.filter(([name]) => name === 'x-session-id').map(([, value]) => value);
      // The second request presents a real id (its X-Evil line is a separate, harmless header);
      // a client that presented a well-formed cookie gets its new id in the cookie only.
      const cookieClient = text.includes('Cookie: session_id=');
      const expected = status === 400 || cookieClient ? [] : text.includes(real) ? [real] : [expect.stringMatching(ISSUED_ID)];
      expect(ids).toEqual(expected);
    }
    // The server is still up and serving sessions.
    const after = await h.get('/peek', { 'X-Session-ID': real });
    expect(after.status).toBe(200);
    expect(sid(after)).toBe(real);
  });
});

describe('property: arbitrary X-Session-ID and Cookie values', () => {
  let h: Harness;
  let issued: string;
  beforeAll(async () => {
    h = await start();
    issued = sid(await h.get('/nothing'));
  });
  afterAll(async () => {
    await h.close();
  });

  /** What fetch's Headers accept and send as is: tab, printable ASCII, Latin-1 letters. */
  const headerChar = fc.oneof(
    { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.constant(0x09) },
    { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }) },
  ).map((code) => String.fromCharCode(code));
  const anyValue = fc.string({ unit: headerChar, maxLength: 200 });
  const idShaped = fc.stringMatching(/^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/);
  const headerValue = fc.option(
    fc.oneof(
      { weight: 5, arbitrary: anyValue },
      { weight: 3, arbitrary: idShaped },
      { weight: 1, arbitrary: fc.constant('<issued>') },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 53 }).map((i) => `<flip:${i}>`) },
    ),
    { nil: undefined },
  );
  const cookieValueArb = fc.option(
    fc.oneof(
      { weight: 4, arbitrary: anyValue },
      { weight: 3, arbitrary: anyValue.map((v) => `session_id=${v}`) },
      { weight: 2, arbitrary: idShaped.map((v) => `a=b; session_id=${v}`) },
      { weight: 1, arbitrary: fc.constant('session_id=<issued>') },
    ),
    { nil: undefined },
  );

  it('never a 5xx, always a well-formed issued id, never the input unless it was an issued id', async () => {
    await fc.assert(
      fc.asyncProperty(headerValue, cookieValueArb, async (rawHeader, rawCookie) => {
        const expand = (v: string): string =>
          v.replace('<issued>', issued).replace(/<flip:(\d+)>/, (_m, i: string) => {
            const at = Number(i) === 22 || Number(i) === issued.lastIndexOf('.') ? 0 : Number(i);
            return flipChar(issued, Math.min(at, issued.length - 1));
          });
        const header = rawHeader === undefined ? undefined : expand(rawHeader);
        const cookie = rawCookie === undefined ? undefined : expand(rawCookie);
        const headers: Record<string, string> = {};
        if (header !== undefined) headers['X-Session-ID'] = header;
        if (cookie !== undefined) headers.cookie = cookie;
        const response = await h.get('/peek', headers);
        expect(response.status).toBeLessThan(500);
        const id = ((await response.json()) as { id: string }).id;
        expect(id).toMatch(ISSUED_ID);
        // Whatever the response hands out is this id; a client that presented a well-formed
        // session cookie and no header id never gets the id in a header.
        const handed = response.headers.get('x-session-id');
        if (handed !== null) expect(handed).toBe(id);
        const cookieLineValue = cookieValue(response, 'session_id');
        if (cookieLineValue !== undefined) expect(cookieLineValue).toBe(id);
        const wellFormedHeader = header !== undefined && /^[A-Za-z0-9\-_.~]{8,128}$/.test(header.trim());
        const wellFormedCookie = (cookie ?? '').split(';').some((part) => {
          const match = /^\s*session_id=(.*)$/.exec(part);
          const value = match?.[1]?.trim().replace(/^"(.*)"$/, '$1');
          return value !== undefined && /^[A-Za-z0-9\-_.~]{8,128}$/.test(value);
        });
        if (wellFormedCookie && !wellFormedHeader) expect(handed).toBeNull();
        if (!wellFormedCookie) expect(handed).toBe(id);
        const sentHeader = header?.trim();
        if (sentHeader === issued) expect(id).toBe(issued);
        if (id === issued) {
          expect(sentHeader === issued || (cookie ?? '').includes(issued)).toBe(true);
        } else {
          if (sentHeader !== undefined) expect(id).not.toBe(sentHeader);
          if (cookie !== undefined) expect(cookie.includes(id)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
    expect(await h.store.length()).toBe(0);
  });
});

/** A logger that keeps every event and message it is given. */
function collectingLogger(): { events: SessionEvent[]; messages: string[]; logger: Required<SessionLogger> } {
  const events: SessionEvent[] = [];
  const messages: string[] = [];
  const collect = (event: SessionEvent, message: string): void => {
    events.push(structuredClone(event));
    messages.push(message);
  };
  return { events, messages, logger: { debug: collect, info: collect, warn: collect, error: collect } };
}

/** Every raw id, and its random part, is absent from everything the logger received. */
function expectNoRawIds(events: SessionEvent[], messages: string[], rawIds: string[]): void {
  const dump = JSON.stringify(events) + JSON.stringify(messages);
  for (const raw of rawIds) {
    expect(dump).not.toContain(raw);
    expect(dump).not.toContain(raw.slice(0, 22));
  }
}

describe('lifecycle logger', () => {
  it('gets created, loaded, rejected (not-issued, bad-signature), destroyed and store-error, with hashed ids only', async () => {
    const { events, messages, logger } = collectingLogger();
    const store = new FlakyStore();
    const h = await start({ logger }, store);
    const rawIds: string[] = [];
    try {
      const first = await h.get('/set?user=alice');
      const id = sid(first);
      rawIds.push(id);
      expect(events.filter((e) => e.event === 'created').map((e) => e.sessionId)).toEqual([hashId(id)]);

      await h.get('/peek', { 'X-Session-ID': id });
      expect(events).toContainEqual(expect.objectContaining({ event: 'loaded', sessionId: hashId(id) }));

      // A well-formed name no server issued: 'not-issued'.
      const chosen = 'attacker-chosen-session-name';
      rawIds.push(chosen, sid(await h.get('/nothing', { 'X-Session-ID': chosen })));
      expect(events).toContainEqual(expect.objectContaining({ event: 'rejected', reason: 'not-issued', sessionId: hashId(chosen) }));

      // Our shape with a signature no secret made, and a real id with one character changed: 'bad-signature'.
      const forged = forgedId();
      rawIds.push(forged, sid(await h.get('/nothing', { 'X-Session-ID': forged })));
      expect(events).toContainEqual(expect.objectContaining({ event: 'rejected', reason: 'bad-signature', sessionId: hashId(forged) }));
      const tampered = flipChar(id, id.length - 2);
      rawIds.push(tampered, sid(await h.get('/nothing', { 'X-Session-ID': tampered })));
      expect(events).toContainEqual(expect.objectContaining({ event: 'rejected', reason: 'bad-signature', sessionId: hashId(tampered) }));

      const destroyed = await h.get('/destroy', { 'X-Session-ID': id });
      expect(destroyed.status).toBe(200);
      expect(events).toContainEqual(expect.objectContaining({ event: 'destroyed', sessionId: hashId(id) }));
      rawIds.push(sid(await h.get('/nothing', { 'X-Session-ID': id })));
      expect(events).toContainEqual(expect.objectContaining({ event: 'rejected', reason: 'destroyed', sessionId: hashId(id) }));

      const other = sid(await h.get('/set?x=1'));
      rawIds.push(other);
      store.failing = true;
      const failed = await h.get('/peek', { 'X-Session-ID': other });
      expect(failed.status).toBe(503);
      store.failing = false;
      const storeErrors = events.filter((e) => e.event === 'store-error');
      expect(storeErrors.length).toBeGreaterThan(0);
      // The store's own message names the id; the logged error must not.
      for (const e of storeErrors) expect(typeof e.error).toBe('string');

      const kinds = new Set(events.map((e) => e.event));
      for (const kind of ['created', 'loaded', 'rejected', 'destroyed', 'store-error'] as const) expect(kinds.has(kind)).toBe(true);
      for (const event of events) {
        if (event.sessionId !== undefined) expect(event.sessionId).toMatch(/^[A-Za-z0-9_-]{12}$/);
      }
      expectNoRawIds(events, messages, rawIds);
    } finally {
      await h.close();
    }
  });

  it('the regenerated event carries the new and the previous id, both hashed', async () => {
    const { events, messages, logger } = collectingLogger();
    const h = await start({ logger });
    try {
      const id = sid(await h.get('/set?user=alice'));
      const newId = sid(await h.get('/regenerate', { 'X-Session-ID': id }));
      expect(newId).not.toBe(id);
      const regenerated = events.filter((e) => e.event === 'regenerated');
      expect(regenerated).toHaveLength(1);
      expect(regenerated[0]!.sessionId).toBe(hashId(newId));
      expect(regenerated[0]!.previousSessionId).toBe(hashId(id));
      expectNoRawIds(events, messages, [id, newId]);
    } finally {
      await h.close();
    }
  });
});
