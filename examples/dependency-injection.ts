// Resolving the middleware from Inversify and swapping the store with one rebinding.
import { Container } from 'inversify';
import { MemoryStore, SessionMiddleware, TYPES, sessionModule } from 'swarmauri-middleware-session';

const container = new Container();
container.load(sessionModule({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production', maxAge: 1800 }));
// Swap the store: one rebinding, nothing else changes (a RedisStore goes here in production).
container.rebind(TYPES.SessionStore).toConstantValue(new MemoryStore({ maxEntries: 10_000 }));

const sessionMiddleware = container.get(SessionMiddleware);
const handle = (request: Request) =>
  sessionMiddleware.dispatch(request, async (req) => {
    const visits = await sessionMiddleware.sessionOf(req)!.increment('visits');
    return Response.json({ visits });
  });

const first = await handle(new Request('http://localhost/'));
const second = await handle(new Request('http://localhost/', { headers: { 'X-Session-ID': first.headers.get('X-Session-ID') ?? '' } }));
console.log(JSON.stringify({ maxAge: sessionMiddleware.maxAge, ...(await first.json()) }));
console.log(JSON.stringify({ maxAge: sessionMiddleware.maxAge, ...(await second.json()) }));
