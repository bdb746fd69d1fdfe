// The Python package's /greet example, in TypeScript: visits 1, then visits 2 for the same id.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SessionMiddleware } from 'swarmauri-middleware-session';

const app = express();
const sessionMiddleware = new SessionMiddleware();
app.use((req, res, next) => sessionMiddleware.dispatch(req, next));

app.get('/greet', async (req, res) => {
  const sessionId = req.state.sessionId;
  const data = (await sessionMiddleware.sessionStorage.get(sessionId)) ?? {};
  data.visits = ((data.visits as number) ?? 0) + 1;
  await sessionMiddleware.sessionStorage.set(sessionId, data);
  res.json({ session_id: sessionId, visits: data.visits });
});

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/greet`;

// First request without a header, second with X-Session-ID from the first response.
const first = await fetch(url);
const firstData = await first.json();
const second = await fetch(url, { headers: { 'X-Session-ID': first.headers.get('X-Session-ID') ?? '' } });
const secondData = await second.json();

console.log(JSON.stringify(firstData));
console.log(JSON.stringify(secondData));
server.close();
