// Plain node:http, no framework: the Connect-style handler runs before your routing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SessionMiddleware } from 'swarmauri-middleware-session';

const sessionMiddleware = new SessionMiddleware({ secret: process.env.SESSION_SECRET ?? 'example-secret-change-me-in-production' });
const withSession = sessionMiddleware.express();

const server = http.createServer((req, res) => {
  withSession(req, res, async (error) => {
    if (error) {
      res.statusCode = 503;
      res.end();
      return;
    }
    const session = sessionMiddleware.sessionOf(req)!;
    const visits = await session.increment('visits');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ session_id: session.id, visits }));
  });
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
