// An adapter for a framework this package does not ship, written on the public lifecycle:
// begin (recognise or issue the id, open the session), run the handler, commit (the write is
// durable before the reply), then add the session's headers. Here the "framework" is node:http.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SessionMiddleware, type RequestView } from 'swarmauri-middleware-session';

const sessionMiddleware = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production' });
const { lifecycle } = sessionMiddleware;

const server = http.createServer(async (req, res) => {
  try {
    const view: RequestView = {
      header: (name) => [req.headers[name] ?? []].flat().join(', ') || undefined,
      encrypted: false, // this server speaks plain HTTP
    };
    const turn = await lifecycle.begin(req, view);
    const session = turn.session!;
    const body = JSON.stringify({ session_id: session.id, visits: await session.increment('visits') });
    await turn.commit();
    for (const [name, value] of turn.headers(res.getHeader('cache-control'))) {
      if (name === 'set-cookie') res.appendHeader(name, value);
      else res.setHeader(name, value);
    }
    res.setHeader('content-type', 'application/json');
    res.end(body);
  } catch {
    // A SessionError from the store: 503, without details.
    res.statusCode = 503;
    res.end();
  }
});

server.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const first = await fetch(url);
const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
const second = await fetch(url, { headers: { cookie } });
console.log(JSON.stringify(await first.json()));
console.log(JSON.stringify(await second.json()));
server.close();
