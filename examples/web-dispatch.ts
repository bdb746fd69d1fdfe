// The /greet flow on Web-standard Request/Response: no framework at all.
import { SessionMiddleware } from 'swarmauri-middleware-session';

const sessionMiddleware = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production' });

async function greet(request: Request): Promise<Response> {
  const session = sessionMiddleware.sessionOf(request)!;
  const visits = await session.increment('visits');
  return Response.json({ session_id: session.id, visits });
}

const handle = (request: Request) => sessionMiddleware.dispatch(request, greet);

const first = await handle(new Request('http://localhost/greet'));
const sessionId = first.headers.get('X-Session-ID') ?? '';
const second = await handle(new Request('http://localhost/greet', { headers: { 'X-Session-ID': sessionId } }));

console.log(JSON.stringify(await first.json()));
console.log(JSON.stringify(await second.json()));
