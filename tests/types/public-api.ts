/**
 * Type tests of the public API (SPEC §2), checked by `tsc --noEmit -p tsconfig.json`; never run.
 * Lines marked `@ts-expect-error` must fail to compile; every other line must compile.
 */
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  MemoryStore,
  MiddlewareBase,
  Session,
  SessionError,
  SessionMiddleware,
  SessionStore,
  TYPES,
  sessionModule,
  type SessionCookieOptions,
  type SessionData,
  type SessionErrorKind,
  type SessionMiddlewareOptions,
} from 'swarmauri-middleware-session';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | void {
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Constructor and options
export function constructorOptions(store: MemoryStore): void {
  new SessionMiddleware();
  new SessionMiddleware({});
  new SessionMiddleware({ sessionStorage: store, sessionHeader: 'X-Session-ID', sessionCookie: 'session_id', maxAge: 3600 });
  new SessionMiddleware({
    secret: ['new-secret', 'old-secret'],
    cookie: { httpOnly: true, sameSite: 'strict', secure: 'auto', path: '/', domain: 'example.com', partitioned: false, priority: 'high' },
    acceptClientIds: false,
    absoluteTimeout: 8 * 3600,
    touchAfter: 60,
    storeTimeout: 2,
    onStoreError: 'continue',
    logger: { warn: (event, message) => void [event.event, event.sessionId, message] },
    trustProxy: true,
  });
  new SessionMiddleware({ secret: 'one-secret' });
  new SessionMiddleware({ sessionHeader: false });
  new SessionMiddleware({ sessionCookie: false });
  new SessionMiddleware({}, store);
  new SessionMiddleware({ sessionStorage: store }, new MemoryStore());

  // @ts-expect-error maxAge is a number of seconds
  new SessionMiddleware({ maxAge: '3600' });
  // @ts-expect-error the Python spelling is not an option name
  new SessionMiddleware({ max_age: 3600 });
  // @ts-expect-error a transport is a name or false, never true
  new SessionMiddleware({ sessionHeader: true });
  // @ts-expect-error onStoreError is 'error' or 'continue'
  new SessionMiddleware({ onStoreError: 'ignore' });
  // @ts-expect-error secrets are strings
  new SessionMiddleware({ secret: 42 });
  // @ts-expect-error sessionStorage is a SessionStore
  new SessionMiddleware({ sessionStorage: new Map() });
  // @ts-expect-error the injected store is a SessionStore
  new SessionMiddleware({}, {});

  const options: SessionMiddlewareOptions = { maxAge: 60 };
  new SessionMiddleware(options);
}

// Cookie sameSite, secure and priority values
export function cookieValues(): void {
  const values: SessionCookieOptions[] = [
    { sameSite: 'lax' },
    { sameSite: 'strict' },
    { sameSite: 'none', secure: true },
    { sameSite: false },
    { secure: true },
    { secure: false },
    { secure: 'auto' },
    { priority: 'low' },
    { priority: 'medium' },
    { priority: 'high' },
    { partitioned: true },
  ];
  void values;
  // @ts-expect-error not a SameSite value
  const badSameSite: SessionCookieOptions = { sameSite: 'x' };
  // @ts-expect-error sameSite true is meaningless
  const trueSameSite: SessionCookieOptions = { sameSite: true };
  // @ts-expect-error secure is a boolean or 'auto'
  const badSecure: SessionCookieOptions = { secure: 'yes' };
  // @ts-expect-error not a priority
  const badPriority: SessionCookieOptions = { priority: 'urgent' };
  void [badSameSite, trueSameSite, badSecure, badPriority];
  // @ts-expect-error also checked inline in the constructor
  new SessionMiddleware({ cookie: { sameSite: 'lenient' } });
}

// ---------------------------------------------------------------------------------------------
// Public properties and class relations
export function publicProperties(mw: SessionMiddleware): void {
  const storage: SessionStore = mw.sessionStorage;
  const header: string | false = mw.sessionHeader;
  const cookie: string | false = mw.sessionCookie;
  const maxAge: number = mw.maxAge;
  void [storage, header, cookie, maxAge];
  const base: MiddlewareBase = mw;
  const store: SessionStore = new MemoryStore();
  void [base, store];
  // @ts-expect-error the configuration is read-only
  mw.maxAge = 10;
  // @ts-expect-error the configuration is read-only
  mw.sessionStorage = new MemoryStore();
  const ttl: number = mw.sessionStorage.defaultTtlSeconds;
  void ttl;
}

// ---------------------------------------------------------------------------------------------
// dispatch overloads
export async function dispatchOverloads(mw: SessionMiddleware): Promise<void> {
  const request = new Request('http://localhost/');
  const sync = mw.dispatch(request, () => new Response('ok'));
  expectType<Equal<typeof sync, Promise<Response>>>();
  const asyncNext = mw.dispatch(request, async (req: Request) => new Response(req.url));
  expectType<Equal<typeof asyncNext, Promise<Response>>>();
  const response: Response = await mw.dispatch(request, () => Response.redirect('http://localhost/next'));
  void response;

  // @ts-expect-error a Web next must return a Response
  mw.dispatch(request, () => 'not a response');
  // @ts-expect-error the Web dispatch resolves a Response, not a string
  const wrong: Promise<string> = mw.dispatch(request, () => new Response('ok'));
  void wrong;

  // Express / Connect
  const app = express();
  app.use((req, _res, next) => mw.dispatch(req, next));
  app.use((req, _res, next) => {
    const result = mw.dispatch(req, next);
    expectType<Equal<typeof result, Promise<void>>>();
  });
  app.get('/greet', async (req, res) => {
    const sessionId: string = req.state.sessionId;
    const session: Session = req.session;
    const visits: number = await session.increment('visits');
    res.json({ session_id: sessionId, visits });
  });

  // Connect-style handler for node:http
  const handle = mw.express();
  const connect: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void = handle;
  void connect;

  const found: Session | undefined = mw.sessionOf(request);
  void found;
}

// ---------------------------------------------------------------------------------------------
// Typed sessions
export async function typedSession(session: Session<{ visits: number; user?: { name: string } }>): Promise<void> {
  session.set('visits', 1);
  const visits: number | undefined = session.get('visits');
  const user = session.get('user');
  expectType<Equal<typeof user, { name: string } | undefined>>();
  session.set('user', { name: 'ann' });
  const chained: typeof session = session.set('visits', 2).set('visits', 3);
  const next: number = await session.increment('visits');
  const deleted: boolean = session.delete('user');
  const has: boolean = session.has('visits');
  const json: Partial<{ visits: number; user?: { name: string } }> = session.toJSON();
  void [visits, chained, next, deleted, has, json];

  // @ts-expect-error visits holds a number
  session.set('visits', 'many');
  // @ts-expect-error unknown key
  session.get('other');
  // @ts-expect-error unknown key
  session.set('other', 1);
  // @ts-expect-error user is an object with a name
  session.set('user', { nom: 'ann' });

  const id: string = session.id;
  const isNew: boolean = session.isNew;
  const expiresAt: Date = session.expiresAt;
  void [id, isNew, expiresAt];
  await session.regenerate();
  await session.regenerate({ keepData: false });
  await session.destroy();
  await session.touch();
  await session.save();
  session.clear();
  // @ts-expect-error the id changes only through regenerate()
  session.id = 'x';

  // Untyped sessions take any key.
  const any: Session = session as unknown as Session<SessionData>;
  any.set('whatever', [1, 2, 3]);
  const value: unknown = any.get('whatever');
  void value;
}

// ---------------------------------------------------------------------------------------------
// Stores
export async function storeContract(store: SessionStore): Promise<void> {
  const data: SessionData | undefined = await store.get('id');
  await store.set('id', { visits: 1 });
  await store.set('id', { visits: 1 }, 60);
  await store.destroy('id');
  await store.touch('id', 60);
  await store.patch('id', { visits: 2, gone: undefined }, 60);
  const n: number = await store.increment('id', 'visits', 1, 60);
  await store.clear();
  const length: number = await store.length();
  for await (const id of store.ids()) {
    const s: string = id;
    void s;
  }
  void [data, n, length];
  // @ts-expect-error a TTL is a number of seconds
  await store.touch('id', '60');
  const memory = new MemoryStore({ maxEntries: 10, sweepIntervalSeconds: 0, defaultTtlSeconds: 60 });
  memory.close();
}

// ---------------------------------------------------------------------------------------------
// DI tokens and module
export function diTokens(): void {
  const tokens: symbol[] = [TYPES.SessionStore, TYPES.SessionOptions, TYPES.SessionMiddleware];
  void tokens;
  // @ts-expect-error no such token
  void TYPES.SessionEngine;
  const module = sessionModule({ secret: 'x', maxAge: 60 });
  const noOptions = sessionModule();
  void [module, noOptions];
  // @ts-expect-error sessionModule takes the middleware options
  sessionModule({ maxAge: 'long' });
}

// ---------------------------------------------------------------------------------------------
// SessionError
export function sessionErrors(value: unknown): void {
  expectType<
    Equal<
      SessionErrorKind,
      'invalid-option' | 'invalid-value' | 'invalid-key' | 'invalid-id' | 'store-error' | 'store-timeout' | 'not-a-number' | 'unsupported-request' | 'too-large' | 'session-closed' | 'store-unavailable' | 'unsupported'
    >
  >();
  const kind: SessionErrorKind = 'store-timeout';
  // @ts-expect-error not a kind
  const badKind: SessionErrorKind = 'timeout';
  void [kind, badKind];
  if (SessionError.is(value)) {
    const k: SessionErrorKind = value.kind;
    const status: number = value.status;
    const option: string | undefined = value.option;
    void [k, status, option];
  }
  const error = new SessionError('invalid-option', 'bad', { option: 'maxAge' });
  const asError: Error = error;
  void asError;
  // @ts-expect-error kinds are a closed union
  new SessionError('oops', 'bad');
  // @ts-expect-error kind is read-only
  error.kind = 'store-error';
}

// ---------------------------------------------------------------------------------------------
// Session data described by an interface (no index signature), and sessionOf typed with it
interface CartData {
  visits: number;
  items: string[];
}
export async function interfaceData(session: Session<CartData>, middleware: SessionMiddleware, request: Request): Promise<void> {
  expectType<Equal<ReturnType<typeof session.get<'items'>>, string[] | undefined>>();
  session.set('items', ['apple']);
  // @ts-expect-error items holds strings
  session.set('items', [1]);
  const typed = middleware.sessionOf<CartData>(request);
  expectType<Equal<typeof typed, Session<CartData> | undefined>>();
  await typed?.increment('visits');
}
