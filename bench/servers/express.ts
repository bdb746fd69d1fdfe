// The Express server of `npm run bench`, one process per measured cell. The variant comes from the
// environment (see bench/configs.ts):
//   BENCH_EXPRESS  'express' (5) or 'express4'
//   BENCH_SESSION  'none' | 'library' | 'express-session'
//   BENCH_STORE    'memory' (the only store so far)
// Routes: GET /count increments `visits` in the session, GET /read only reads it; both answer
// `{"visits":n}`. Without sessions both answer `{"visits":1}`.
// Prints one JSON line `{"port":n}` once listening; exits (writing a --cpu-prof profile) on SIGTERM.
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import express from 'express';
import { MemoryStore, SessionMiddleware } from '../../src/index.js';

const require = createRequire(import.meta.url);
const SECRET = 'bench-secret-not-for-production-0123456789abcdef';

const expressModule = process.env.BENCH_EXPRESS ?? 'express';
const sessions = process.env.BENCH_SESSION ?? 'none';
const storeKind = process.env.BENCH_STORE ?? 'memory';
if (storeKind !== 'memory') throw new Error(`BENCH_STORE=${storeKind} is not supported by this server yet`);

const createApp = (expressModule === 'express' ? express : require(expressModule)) as typeof express;
const app = createApp();

if (sessions === 'none') {
  app.get('/count', (_req, res) => {
    res.json({ visits: 1 });
  });
  app.get('/read', (_req, res) => {
    res.json({ visits: 1 });
  });
} else if (sessions === 'library') {
  const middleware = new SessionMiddleware({ secret: SECRET, sessionStorage: new MemoryStore() });
  app.use(middleware.express());
  app.get('/count', (req, res) => {
    // get/set, as the baseline was measured (increment() is the atomic alternative).
    const visits = ((req.session.get('visits') as number | undefined) ?? 0) + 1;
    req.session.set('visits', visits);
    res.json({ visits });
  });
  app.get('/read', (req, res) => {
    res.json({ visits: (req.session.get('visits') as number | undefined) ?? 0 });
  });
} else if (sessions === 'express-session') {
  // Loaded untyped on purpose: @types/express-session re-declares `req.session` globally, which
  // clashes with this library's typing of `req.session` in every file of the project.
  type SessionFactory = (options: { secret: string; resave: boolean; saveUninitialized: boolean; store?: unknown }) => RequestHandler;
  const session = require('express-session') as SessionFactory & { MemoryStore: new () => unknown };
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: true, store: new session.MemoryStore() }));
  type Counter = { session: { visits?: number } };
  app.get('/count', (req, res) => {
    const data = (req as unknown as Counter).session;
    data.visits = (data.visits ?? 0) + 1;
    res.json({ visits: data.visits });
  });
  app.get('/read', (req, res) => {
    res.json({ visits: (req as unknown as Counter).session.visits ?? 0 });
  });
} else {
  throw new Error(`Unknown BENCH_SESSION=${sessions}`);
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
