/**
 * Observability (the `telemetry` option): metrics and spans read back through the OpenTelemetry
 * SDK's in-memory exporters, over a real Express 5 app on a real socket.
 *
 * The store is `FlakyStore`, a `MemoryStore` subclass whose overridden methods make every call
 * asynchronous (so each goes through the engine's bounded store call) and which rejects while
 * `failing` is set, with an error quoting the id (which must never reach an attribute).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import express from 'express';
import { context, metrics, trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type ContextManager } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MemoryStore, RedisStore, SessionError, SessionMiddleware, type SessionMiddlewareOptions } from '../../src/index.js';
import { hashId } from '../../src/core/logger.js';
import { ATTRIBUTES, METRICS, describeStore, openTelemetryApi } from '../../src/core/telemetry.js';
import { FlakyStore } from '../support/failingStores.js';
import { listenApp, sleep, type Running } from '../support/http.js';

const SECRET = 'telemetry-test-secret-of-at-least-32-chars';
const USER = 'alice@example.com';

/** An SDK pipeline: a MeterProvider read through the in-memory exporter, a tracer provider with the in-memory span exporter. */
function pipeline() {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  return {
    meterProvider,
    tracerProvider,
    spanExporter,
    metricExporter,
    /** The metrics as they stand now (cumulative), by name. */
    async collect(): Promise<Map<string, MetricData>> {
      await reader.forceFlush();
      const exported = metricExporter.getMetrics();
      metricExporter.reset();
      const byName = new Map<string, MetricData>();
      for (const scope of exported.at(-1)?.scopeMetrics ?? []) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      return byName;
    },
    /** The instrumentation scopes that exported metrics. */
    async scopes(): Promise<string[]> {
      await reader.forceFlush();
      const exported = metricExporter.getMetrics();
      metricExporter.reset();
      return (exported.at(-1)?.scopeMetrics ?? []).map((scope) => scope.scope.name);
    },
    spans(): ReadableSpan[] {
      return spanExporter.getFinishedSpans();
    },
    async shutdown(): Promise<void> {
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}
type Pipeline = ReturnType<typeof pipeline>;

/** The sum of a counter (over the points whose attributes include `where`). */
function sum(all: Map<string, MetricData>, name: string, where: Record<string, string> = {}): number {
  const metric = all.get(name);
  if (!metric) return 0;
  return metric.dataPoints
    .filter((point) => Object.entries(where).every(([key, value]) => point.attributes[key] === value))
    .reduce((total, point) => total + (point.value as number), 0);
}

/** The breaker gauge's value. */
function gauge(all: Map<string, MetricData>): number | undefined {
  const points = all.get(METRICS.breakerState)?.dataPoints ?? [];
  expect(points.length).toBeLessThanOrEqual(1);
  return points[0]?.value as number | undefined;
}

/** Histogram counts by "operation error.type" (error.type `-` when it succeeded). */
function histogramCounts(all: Map<string, MetricData>): Record<string, number> {
  const metric = all.get(METRICS.storeDuration);
  const counts: Record<string, number> = {};
  if (!metric) return counts;
  expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
  expect(metric.descriptor.unit).toBe('s');
  for (const point of metric.dataPoints) {
    const value = point.value as { count: number; sum?: number; min?: number; max?: number };
    const key = `${point.attributes[ATTRIBUTES.operation]} ${point.attributes[ATTRIBUTES.errorType] ?? '-'}`;
    counts[key] = (counts[key] ?? 0) + value.count;
    expect(value.min).toBeGreaterThanOrEqual(0);
    expect(value.max).toBeLessThan(5);
  }
  return counts;
}

/** Span counts, the same way. */
function spanCounts(spans: readonly ReadableSpan[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const span of spans) {
    const key = `${span.attributes[ATTRIBUTES.operation]} ${span.attributes[ATTRIBUTES.errorType] ?? '-'}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Every string in every exported attribute (metric points, spans, span events and links, resources, status messages). */
function everyExportedString(all: Map<string, MetricData>, spans: readonly ReadableSpan[]): string[] {
  const strings: string[] = [];
  const add = (attributes: Record<string, unknown> | undefined): void => {
    for (const [key, value] of Object.entries(attributes ?? {})) {
      strings.push(key);
      if (Array.isArray(value)) strings.push(...value.map(String));
      else strings.push(String(value));
    }
  };
  for (const metric of all.values()) {
    strings.push(metric.descriptor.name, metric.descriptor.description);
    for (const point of metric.dataPoints) add(point.attributes);
  }
  for (const span of spans) {
    strings.push(span.name, span.status.message ?? '');
    add(span.attributes);
    add(span.resource.attributes);
    for (const event of span.events) {
      strings.push(event.name);
      add(event.attributes);
    }
    for (const link of span.links) add(link.attributes);
  }
  return strings;
}

interface Client {
  cookie: string | undefined;
}

/** The session cookie's value a response set (or cleared: ''), or undefined when it set none. */
function cookieOf(response: Response): string | undefined {
  const line = response.headers.getSetCookie().find((value) => value.startsWith('session_id='));
  return line === undefined ? undefined : decodeURIComponent(line.slice('session_id='.length).split(';')[0]!);
}

async function serve(options: SessionMiddlewareOptions) {
  const mw = new SessionMiddleware({ secret: SECRET, storeTimeout: 1, ...options });
  const app = express();
  app.use(mw.express());
  app.get('/visit', (req, res) => {
    const visits = ((req.session.get('visits') as number | undefined) ?? 0) + 1;
    req.session.set('visits', visits);
    res.json({ visits });
  });
  app.post('/login', async (req, res) => {
    await req.session.login(USER);
    res.json({ ok: true });
  });
  app.post('/regenerate', async (req, res) => {
    await req.session.regenerate();
    res.json({ ok: true });
  });
  app.post('/logout', async (req, res) => {
    await req.session.destroy();
    res.json({ ok: true });
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(SessionError.is(err) ? err.status : 500).json({ kind: SessionError.is(err) ? err.kind : 'other' });
  });
  const server = await listenApp(app);
  running.push(server);
  return { mw, server };
}

const running: Running[] = [];
afterEach(async () => {
  for (const server of running.splice(0)) await server.close();
  jest.restoreAllMocks();
});

/** The last cookie value seen. */
function browserCookie(seen: Set<string>): string {
  return [...seen].at(-1)!;
}

/** Requests as one client (keeping its cookie), collecting every id it saw. */
function clientOf(server: Running, seen: Set<string>) {
  const client: Client = { cookie: undefined };
  return async (method: string, path: string, cookie = client.cookie): Promise<{ status: number; body: { kind?: string; visits?: number } }> => {
    const response = await fetch(server.url + path, { method, headers: cookie === undefined ? {} : { cookie: `session_id=${cookie}` } });
    const set = cookieOf(response);
    if (set !== undefined) {
      client.cookie = set === '' ? undefined : set;
      if (set !== '') seen.add(set);
    }
    const header = response.headers.get('x-session-id');
    if (header) seen.add(header);
    return { status: response.status, body: (await response.json()) as { kind?: string; visits?: number } };
  };
}

describe('telemetry: { meter, tracer }', () => {
  let otel: Pipeline;
  beforeAll(() => {
    otel = pipeline();
  });
  afterAll(async () => {
    await otel.shutdown();
  });

  it('counts the lifecycle, times and traces every store call, reports the breaker, and never exports an id', async () => {
    const store = new FlakyStore();
    const seen = new Set<string>();
    const { mw, server } = await serve({
      sessionStorage: store,
      breaker: { failures: 2, cooldown: 1 },
      telemetry: { meter: otel.meterProvider.getMeter('test'), tracer: otel.tracerProvider.getTracer('test') },
    });
    const browser = clientOf(server, seen);

    // A new session, then a returning one.
    expect((await browser('GET', '/visit')).body.visits).toBe(1);
    expect((await browser('GET', '/visit')).body.visits).toBe(2);
    let all = await otel.collect();
    expect(sum(all, METRICS.created)).toBe(1);
    expect(sum(all, METRICS.loaded)).toBe(1);
    expect(gauge(all)).toBe(0);

    // Log in (a new id, so regenerated too), regenerate, log out.
    expect((await browser('POST', '/login')).status).toBe(200);
    expect((await browser('POST', '/regenerate')).status).toBe(200);
    const ended = browserCookie(seen);
    expect((await browser('POST', '/logout')).status).toBe(200);

    // A forged id (bad signature), the destroyed id, and an id the server never issued: each rejected, each a new session.
    const forged = `${ended.slice(0, -4)}${ended.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const stranger = 'made-up-session-id-of-a-client-0123456789';
    seen.add(forged).add(stranger);
    expect((await browser('GET', '/visit', forged)).body.visits).toBe(1);
    expect((await browser('GET', '/visit', ended)).body.visits).toBe(1);
    expect((await browser('GET', '/visit', stranger)).body.visits).toBe(1);

    // A second device logs in too; "log out everywhere" revokes both of the user's sessions.
    const phone = clientOf(server, seen);
    await phone('GET', '/visit');
    await phone('POST', '/login');
    await browser('POST', '/login');
    await mw.revokeAll(USER);

    all = await otel.collect();
    expect(sum(all, METRICS.created)).toBe(5);
    expect(sum(all, METRICS.loaded)).toBe(6);
    expect(sum(all, METRICS.regenerated)).toBe(4);
    expect(sum(all, METRICS.loggedIn)).toBe(3);
    expect(sum(all, METRICS.destroyed)).toBe(1);
    expect(sum(all, METRICS.revoked)).toBe(2);
    expect(sum(all, METRICS.rejected)).toBe(3);
    for (const reason of ['bad-signature', 'destroyed', 'not-issued']) {
      expect(sum(all, METRICS.rejected, { [ATTRIBUTES.rejectionReason]: reason })).toBe(1);
    }
    expect(all.get(METRICS.created)!.descriptor.unit).toBe('{session}');
    expect(gauge(all)).toBe(0);

    // The store goes down: two failed loads open the circuit (state 2), the next call is refused at once.
    store.failing = true;
    expect((await browser('GET', '/visit')).body.kind).toBe('store-error');
    expect((await browser('GET', '/visit')).body.kind).toBe('store-error');
    expect(gauge(await otel.collect())).toBe(2);
    expect((await browser('GET', '/visit')).body.kind).toBe('store-unavailable');
    // After the cooldown the next call is a probe (half-open, 1); the store is back, the probe closes it (0).
    await sleep(1050);
    expect(gauge(await otel.collect())).toBe(1);
    store.failing = false;
    expect((await browser('GET', '/visit')).status).toBe(200);
    all = await otel.collect();
    expect(gauge(all)).toBe(0);
    // The browser's session was revoked: rejected as destroyed (the revocation left a tombstone), a new one.
    expect(sum(all, METRICS.rejected, { [ATTRIBUTES.rejectionReason]: 'destroyed' })).toBe(2);
    expect(sum(all, METRICS.created)).toBe(6);

    // One span per store call, and one histogram point per call: the same calls, operation by operation.
    const spans = otel.spans();
    const byOperation = histogramCounts(all);
    expect(spanCounts(spans)).toEqual(byOperation);
    for (const operation of ['load', 'patch', 'set', 'destroy', 'index', 'unindex', 'revocation', 'revokeUser']) {
      expect(byOperation[`${operation} -`]).toBeGreaterThan(0);
    }
    expect(byOperation['load store-error']).toBe(2);
    expect(byOperation['load store-unavailable']).toBe(1);
    expect(Object.keys(byOperation).filter((key) => !key.endsWith(' -'))).toHaveLength(2);
    for (const span of spans) {
      const operation = span.attributes[ATTRIBUTES.operation];
      expect(span.name).toBe(`session.store ${operation}`);
      expect(span.kind).toBe(SpanKind.INTERNAL);
      expect(span.instrumentationScope.name).toBe('test');
      expect(span.attributes[ATTRIBUTES.store]).toBe('FlakyStore');
      expect(span.attributes[ATTRIBUTES.dbSystem]).toBeUndefined();
      const errorType = span.attributes[ATTRIBUTES.errorType];
      expect(span.status).toEqual(errorType === undefined ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: errorType });
      expect(Object.keys(span.attributes).sort()).toEqual(
        [ATTRIBUTES.operation, ATTRIBUTES.store, ...(errorType === undefined ? [] : [ATTRIBUTES.errorType])].sort(),
      );
    }

    // No id, no user id, hashed or not, nor the store's error message (which quotes the id), anywhere.
    expect(seen.size).toBeGreaterThanOrEqual(9);
    const exported = everyExportedString(all, spans);
    const secrets = [...seen, USER].flatMap((value) => [value, hashId(value)]);
    for (const value of exported) {
      for (const secret of secrets) expect(value).not.toContain(secret);
      expect(value).not.toMatch(/store down/);
    }
  });
});

/** A minimal context manager on AsyncLocalStorage (the SDK's lives in a package this repository does not install). */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

describe('telemetry: spans in context', () => {
  it("makes the store call's span the active one, so the store's own spans nest under it, under the request's", async () => {
    const otel = pipeline();
    const manager = new AsyncLocalContextManager();
    context.setGlobalContextManager(manager);
    try {
      const tracer = otel.tracerProvider.getTracer('test');
      /** A store whose client records a span of its own, as an instrumented Redis client would. */
      class ClientTracedStore extends FlakyStore {
        override async load(id: string) {
          return tracer.startActiveSpan('redis HGETALL', async (span) => {
            try {
              return await super.load(id);
            } finally {
              span.end();
            }
          });
        }
      }
      const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: new ClientTracedStore(), telemetry: { tracer } });
      const app = express();
      // The request's span, as an HTTP instrumentation would make it.
      app.use((_req, res, next) => tracer.startActiveSpan('GET /visit', (span) => {
        res.on('finish', () => span.end());
        next();
      }));
      app.use(mw.express());
      app.get('/visit', (req, res) => {
        req.session.set('visits', 1);
        res.json({});
      });
      const server = await listenApp(app);
      running.push(server);
      const first = await fetch(`${server.url}/visit`);
      await fetch(`${server.url}/visit`, { headers: { cookie: `session_id=${cookieOf(first)!}` } });
      await sleep(20);
      const spans = otel.spans();
      const byName = (name: string) => spans.filter((span) => span.name === name);
      const [load] = byName('session.store load');
      const [client] = byName('redis HGETALL');
      expect(load).toBeDefined();
      expect(client!.parentSpanContext?.spanId).toBe(load!.spanContext().spanId);
      const request = byName('GET /visit').find((span) => span.spanContext().traceId === load!.spanContext().traceId);
      expect(load!.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
      // A metrics-less telemetry records spans only.
      expect(await otel.collect()).toEqual(new Map());
    } finally {
      context.disable();
      await otel.shutdown();
    }
  });
});

describe('telemetry: true (the global providers)', () => {
  let otel: Pipeline;
  beforeAll(() => {
    otel = pipeline();
    metrics.setGlobalMeterProvider(otel.meterProvider);
    trace.setGlobalTracerProvider(otel.tracerProvider);
  });
  afterAll(async () => {
    metrics.disable();
    trace.disable();
    await otel.shutdown();
  });

  it('loads @opentelemetry/api once and records under the scope swarmauri-middleware-session', async () => {
    const load = jest.spyOn(openTelemetryApi, 'load');
    const { server } = await serve({ sessionStorage: new FlakyStore(), telemetry: true });
    expect(load).toHaveBeenCalledTimes(1);
    await load.mock.results[0]!.value;
    await sleep(0);
    const seen = new Set<string>();
    const browser = clientOf(server, seen);
    await browser('GET', '/visit');
    await browser('GET', '/visit');
    const all = await otel.collect();
    expect(sum(all, METRICS.created)).toBe(1);
    expect(sum(all, METRICS.loaded)).toBe(1);
    expect(await otel.scopes()).toEqual(['swarmauri-middleware-session']);
    const spans = otel.spans();
    expect(spans.map((span) => span.name).sort()).toEqual(['session.store load', 'session.store patch', 'session.store patch']);
    for (const span of spans) expect(span.instrumentationScope.name).toBe('swarmauri-middleware-session');
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('without the package it is refused at construction, naming what to install', () => {
    const installed = jest.spyOn(openTelemetryApi, 'installed').mockReturnValue(false);
    const load = jest.spyOn(openTelemetryApi, 'load');
    let error: unknown;
    try {
      new SessionMiddleware({ secret: SECRET, telemetry: true });
    } catch (caught) {
      error = caught;
    }
    expect(SessionError.is(error) && error.kind).toBe('invalid-option');
    expect((error as SessionError).option).toBe('telemetry');
    expect((error as Error).message).toMatch(/npm install @opentelemetry\/api/);
    expect(installed).toHaveBeenCalledTimes(1);
    expect(load).not.toHaveBeenCalled();
  });

  it('the package is found here', () => {
    expect(openTelemetryApi.installed()).toBe(true);
  });

  it('a load that fails after all is a process warning; requests are served without telemetry', async () => {
    jest.spyOn(openTelemetryApi, 'load').mockRejectedValue(new Error('Cannot find package @opentelemetry/api'));
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { server } = await serve({ sessionStorage: new FlakyStore(), telemetry: true });
    await sleep(0);
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, options] = warn.mock.calls[0]! as unknown as [string, { code: string }];
    expect(options.code).toBe('SWARMAURI_SESSION_TELEMETRY');
    expect(message).toMatch(/could not be loaded \(Error: Cannot find package @opentelemetry\/api\)/);
    otel.spanExporter.reset();
    const before = sum(await otel.collect(), METRICS.created);
    const browser = clientOf(server, new Set());
    expect((await browser('GET', '/visit')).body.visits).toBe(1);
    expect(otel.spans()).toEqual([]);
    expect(sum(await otel.collect(), METRICS.created)).toBe(before);
  });
});

describe('telemetry off', () => {
  let otel: Pipeline;
  beforeAll(() => {
    otel = pipeline();
    // Global providers are there to be found: the middleware must not use them unasked.
    metrics.setGlobalMeterProvider(otel.meterProvider);
    trace.setGlobalTracerProvider(otel.tracerProvider);
  });
  afterAll(async () => {
    metrics.disable();
    trace.disable();
    await otel.shutdown();
  });

  it.each([
    ['by default', {}],
    ['with false', { telemetry: false }],
  ] as const)('records nothing and never loads @opentelemetry/api (%s)', async (_name, options) => {
    const load = jest.spyOn(openTelemetryApi, 'load');
    const installed = jest.spyOn(openTelemetryApi, 'installed');
    const store = new FlakyStore();
    const { mw, server } = await serve({ sessionStorage: store, breaker: { failures: 1, cooldown: 1 }, ...options });
    const browser = clientOf(server, new Set());
    await browser('GET', '/visit');
    await browser('GET', '/visit');
    await browser('POST', '/login');
    await browser('POST', '/logout');
    await mw.revokeAll(USER);
    store.failing = true;
    await browser('GET', '/visit');
    expect(load).not.toHaveBeenCalled();
    expect(installed).not.toHaveBeenCalled();
    expect(await otel.collect()).toEqual(new Map());
    expect(otel.spans()).toEqual([]);
  });

  it('an own meter and tracer need no loading either', async () => {
    const load = jest.spyOn(openTelemetryApi, 'load');
    const own = pipeline();
    const { server } = await serve({ sessionStorage: new FlakyStore(), telemetry: { meter: own.meterProvider.getMeter('own') } });
    await clientOf(server, new Set())('GET', '/visit');
    expect(load).not.toHaveBeenCalled();
    expect(sum(await own.collect(), METRICS.created)).toBe(1);
    expect(own.spans()).toEqual([]);
    await own.shutdown();
  });

  it('nothing in src/ loads @opentelemetry/api at run time but the one import() in core/telemetry.ts', () => {
    const SRC = resolve(dirname(new URL(import.meta.url).pathname), '../../src');
    const found: string[] = [];
    for (const entry of readdirSync(SRC, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !/\.c?ts$/.test(entry.name)) continue;
      const path = join(entry.parentPath, entry.name);
      const text = readFileSync(path, 'utf8');
      for (const line of text.split('\n')) {
        if (!line.includes("'@opentelemetry/") && !line.includes('"@opentelemetry/')) continue;
        if (/^\s*import\s+type\s/.test(line)) continue;
        found.push(`${relative(SRC, path)}: ${line.trim()}`);
      }
    }
    // The layer check lets @opentelemetry/api load at run time; this keeps it to the one dynamic import (and its resolvability check).
    expect(found).toEqual(["core/telemetry.ts: import.meta.resolve('@opentelemetry/api');", "core/telemetry.ts: return import('@opentelemetry/api');"]);
  });
});

describe('the telemetry option', () => {
  it.each([
    ['yes', /expected a boolean or \{ meter, tracer \}/],
    [{ meter: {} }, /telemetry\.meter: expected an OpenTelemetry Meter/],
    [{ tracer: { startSpan() {} } }, /telemetry\.tracer: expected an OpenTelemetry Tracer/],
    [{ metre: {} }, /Unknown option telemetry\.metre: did you mean telemetry\.meter\?/],
  ])('refuses %p', (telemetry, message) => {
    expect(() => new SessionMiddleware({ secret: SECRET, telemetry: telemetry as never })).toThrow(message);
  });

  it('names the store by its class, and Redis stores (subclasses too) with db.system.name', () => {
    class MyRedisStore extends RedisStore {}
    expect(describeStore(Object.create(RedisStore.prototype) as object)).toEqual({ name: 'RedisStore', dbSystem: 'redis' });
    expect(describeStore(Object.create(MyRedisStore.prototype) as object)).toEqual({ name: 'MyRedisStore', dbSystem: 'redis' });
    expect(describeStore(new MemoryStore({ sweepIntervalSeconds: 0 }))).toEqual({ name: 'MemoryStore', dbSystem: undefined });
  });
});
