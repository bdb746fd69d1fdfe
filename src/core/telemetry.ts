/**
 * Metrics and traces through `@opentelemetry/api`, an optional peer dependency (the `telemetry`
 * option; docs/guide.md, "Observability").
 *
 * Only types come from the package here, except in {@link openTelemetryApi}: its `import()` is the
 * package's one run-time reference to `@opentelemetry/api`, made only for `telemetry: true`. With
 * `telemetry` off nothing here is constructed, and the request path pays one null check where it
 * would record (`EventLog.emit`, `SessionEngine.call`).
 *
 * No attribute carries a session id or a user id, hashed or not: attributes name what happened
 * (the event, the rejection reason, the store operation, the store class, the error kind), never
 * whose session it was. Error messages are not recorded either (a store's own error may quote the
 * key it was asked about).
 */
import type * as OpenTelemetryApi from '@opentelemetry/api';
import type { Attributes, Counter, Histogram, Meter, ObservableResult, Span, SpanStatusCode, Tracer } from '@opentelemetry/api';
import type { SessionEvent } from './logger.js';
import type { BreakerState } from './breaker.js';
import { SessionError } from './SessionError.js';

/** A meter and/or a tracer to record with (the object form of the `telemetry` option). */
export interface TelemetryProviders {
  /** Receives the counters, the store-call histogram and the breaker gauge. */
  readonly meter?: Meter | undefined;
  /** Receives a span per store call. */
  readonly tracer?: Tracer | undefined;
}

/** The instrumentation scope of the meter and tracer taken from the global providers (`telemetry: true`). */
export const TELEMETRY_SCOPE = 'swarmauri-middleware-session';

/** Metric names. Counters count sessions (`{session}`); the histogram is in seconds. */
export const METRICS = {
  created: 'swarmauri.session.created',
  loaded: 'swarmauri.session.loaded',
  rejected: 'swarmauri.session.rejected',
  regenerated: 'swarmauri.session.regenerated',
  destroyed: 'swarmauri.session.destroyed',
  revoked: 'swarmauri.session.revoked',
  loggedIn: 'swarmauri.session.logged_in',
  storeDuration: 'swarmauri.session.store.operation.duration',
  breakerState: 'swarmauri.session.store.breaker.state',
} as const;

/** Attribute names: OpenTelemetry's where a convention exists (`error.type`, `db.system.name`), ours otherwise. */
export const ATTRIBUTES = {
  /** On `swarmauri.session.rejected`: why the presented id was refused (`bad-signature`, `expired`, ...). */
  rejectionReason: 'swarmauri.session.rejection.reason',
  /** The store operation (`load`, `set`, `patch`, `touch`, `destroy`, `increment`, ...). */
  operation: 'swarmauri.session.store.operation.name',
  /** The store's class name (`RedisStore`, `MemoryStore`, `RecordStore`, a subclass's own name, ...). */
  store: 'swarmauri.session.store.name',
  /** Semantic conventions: set only when the call failed, to the `SessionError` kind (`store-timeout`, ...). */
  errorType: 'error.type',
  /** Semantic conventions: the database behind the store, where known (`redis` for `RedisStore` and its subclasses). */
  dbSystem: 'db.system.name',
} as const;

/** Span name prefix: a store call's span is `session.store <operation>`. */
export const STORE_SPAN_PREFIX = 'session.store ';

/** Bucket boundaries (seconds) suggested for the store-call histogram: sub-millisecond Redis calls up to the longest `storeTimeout` anyone should use. */
export const STORE_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `SpanStatusCode.ERROR` (the enum is a run-time value of the package, which is not imported). */
const STATUS_ERROR = 2 as SpanStatusCode.ERROR;

/** The lifecycle events that have a counter, and its name. */
const COUNTED: Partial<Record<SessionEvent['event'], string>> = {
  created: METRICS.created,
  loaded: METRICS.loaded,
  rejected: METRICS.rejected,
  regenerated: METRICS.regenerated,
  destroyed: METRICS.destroyed,
  revoked: METRICS.revoked,
  'logged-in': METRICS.loggedIn,
};

/** Stores whose database has a `db.system.name` value, by class name (a subclass inherits it). */
const DB_SYSTEMS: Readonly<Record<string, string>> = { RedisStore: 'redis' };

/** What the telemetry says about a store: its class name and, where known, its database. */
export interface StoreDescription {
  /** The class name (`swarmauri.session.store.name`). */
  readonly name: string;
  /** The `db.system.name` value, or `undefined`. */
  readonly dbSystem: string | undefined;
}

/** The store's class name, and its database where its class (or a class it extends) is a known one. */
export function describeStore(store: object): StoreDescription {
  const name = (store.constructor as { name?: unknown } | undefined)?.name;
  let dbSystem: string | undefined;
  for (let proto: object | null = Object.getPrototypeOf(store); proto !== null && dbSystem === undefined; proto = Object.getPrototypeOf(proto)) {
    const className = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof className === 'string' && Object.hasOwn(DB_SYSTEMS, className)) dbSystem = DB_SYSTEMS[className];
  }
  return { name: typeof name === 'string' && name !== '' ? name : 'SessionStore', dbSystem };
}

/** What the breaker gauge reads: the breaker's state now. */
export interface BreakerStateSource {
  /** 0 closed, 1 half-open, 2 open. */
  readonly state: BreakerState;
}

/**
 * The recorder for one middleware: counts lifecycle events, times and traces store calls, and
 * reports the breaker's state. Built only when `telemetry` is on.
 */
export class SessionTelemetry {
  readonly #counters = new Map<SessionEvent['event'], Counter>();
  readonly #duration: Histogram | undefined;
  readonly #tracer: Tracer | undefined;
  readonly #store: StoreDescription;
  /** Attributes of store calls, per operation (one object each, reused). */
  readonly #callAttributes = new Map<string, Attributes>();
  /** Attributes of `rejected`, per reason. */
  readonly #reasonAttributes = new Map<string, Attributes>();

  /**
   * @param providers - where to record; a missing meter or tracer records no metrics or no spans.
   * @param store - the store, described by {@link describeStore}.
   * @param breaker - the circuit breaker, for the state gauge; none when it is off.
   */
  constructor(providers: TelemetryProviders, store: StoreDescription, breaker: BreakerStateSource | undefined) {
    this.#store = store;
    this.#tracer = providers.tracer;
    const meter = providers.meter;
    if (meter === undefined) return;
    for (const [event, name] of Object.entries(COUNTED) as Array<[SessionEvent['event'], string]>) {
      this.#counters.set(event, meter.createCounter(name, { unit: '{session}', description: `Sessions ${event === 'logged-in' ? 'logged in' : event}` }));
    }
    this.#duration = meter.createHistogram(METRICS.storeDuration, {
      unit: 's',
      description: 'Duration of session store calls, by operation and store; error.type is set on failures',
      advice: { explicitBucketBoundaries: [...STORE_DURATION_BUCKETS] },
    });
    if (breaker !== undefined) observeBreaker(meter, breaker, this.#storeAttributes());
  }

  /** Counts a lifecycle event (`EventLog.emit` calls it); `reason` for `rejected`. Never throws. */
  event(event: SessionEvent['event'], reason: string | undefined): void {
    const counter = this.#counters.get(event);
    if (counter === undefined) return;
    try {
      counter.add(1, reason === undefined ? undefined : this.#reason(reason));
    } catch {
      // A broken meter must not break requests.
    }
  }

  /**
   * Times `run` (one bounded store call) into the histogram and wraps it in a span, made the
   * active one so the store's own client spans (Redis, ...) nest under it. Returns `run`'s promise.
   */
  storeCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const attributes = this.#attributesOf(operation);
    const started = performance.now();
    const tracer = this.#tracer;
    if (tracer === undefined) return this.#measured(run(), attributes, started, undefined);
    return tracer.startActiveSpan(STORE_SPAN_PREFIX + operation, { attributes }, (span) => this.#measured(run(), attributes, started, span));
  }

  #measured<T>(call: Promise<T>, attributes: Attributes, started: number, span: Span | undefined): Promise<T> {
    // A side chain: the caller gets the call's own promise, and its rejection stays the caller's to handle.
    call.then(
      () => this.#end(attributes, started, span, undefined),
      (error: unknown) => this.#end(attributes, started, span, error),
    );
    return call;
  }

  #end(attributes: Attributes, started: number, span: Span | undefined, error: unknown): void {
    try {
      const seconds = (performance.now() - started) / 1000;
      const errorType = error === undefined ? undefined : errorTypeOf(error);
      this.#duration?.record(seconds, errorType === undefined ? attributes : { ...attributes, [ATTRIBUTES.errorType]: errorType });
      if (span === undefined) return;
      if (errorType !== undefined) {
        span.setAttribute(ATTRIBUTES.errorType, errorType);
        // The kind only: a store's message may quote the key it was asked about.
        span.setStatus({ code: STATUS_ERROR, message: errorType });
      }
      span.end();
    } catch {
      // A broken meter or tracer must not break requests (nor leave a rejection unhandled).
    }
  }

  #attributesOf(operation: string): Attributes {
    let attributes = this.#callAttributes.get(operation);
    if (attributes === undefined) {
      attributes = Object.freeze({ [ATTRIBUTES.operation]: operation, ...this.#storeAttributes() });
      this.#callAttributes.set(operation, attributes);
    }
    return attributes;
  }

  #storeAttributes(): Attributes {
    const { name, dbSystem } = this.#store;
    return dbSystem === undefined ? { [ATTRIBUTES.store]: name } : { [ATTRIBUTES.store]: name, [ATTRIBUTES.dbSystem]: dbSystem };
  }

  #reason(reason: string): Attributes {
    let attributes = this.#reasonAttributes.get(reason);
    if (attributes === undefined) {
      attributes = Object.freeze({ [ATTRIBUTES.rejectionReason]: reason });
      this.#reasonAttributes.set(reason, attributes);
    }
    return attributes;
  }
}

/** `error.type` of a failed store call: the `SessionError` kind (the engine turns every failure into one). */
function errorTypeOf(error: unknown): string {
  if (SessionError.is(error)) return error.kind;
  // Semantic conventions' fallback value.
  return '_OTHER';
}

/**
 * The breaker gauge: 0 closed, 1 half-open, 2 open, read at each collection. It holds the
 * breaker weakly, so a middleware that is dropped stops being reported (and can be collected).
 */
function observeBreaker(meter: Meter, breaker: BreakerStateSource, attributes: Attributes): void {
  const gauge = meter.createObservableGauge(METRICS.breakerState, {
    unit: '{state}',
    description: 'State of the circuit breaker in front of the session store: 0 closed, 1 half-open, 2 open',
  });
  const ref = new WeakRef(breaker);
  const observe = (result: ObservableResult): void => {
    const live = ref.deref();
    if (live === undefined) gauge.removeCallback(observe);
    else result.observe(live.state, attributes);
  };
  gauge.addCallback(observe);
}

/**
 * Loads `@opentelemetry/api` for `telemetry: true`: the package's one run-time reference to it.
 * An object, so a test can watch it.
 */
export const openTelemetryApi = {
  /**
   * True when the package can be found from here (checked synchronously, so that `telemetry:
   * true` without it is refused at construction); true as well where the runtime cannot tell.
   */
  installed(): boolean {
    if (typeof import.meta.resolve !== 'function') return true;
    try {
      import.meta.resolve('@opentelemetry/api');
      return true;
    } catch {
      return false;
    }
  },
  /** The package itself. */
  load(): Promise<typeof OpenTelemetryApi> {
    return import('@opentelemetry/api');
  },
};

/** A meter and a tracer from the global providers, under {@link TELEMETRY_SCOPE}. */
export async function globalProviders(): Promise<TelemetryProviders> {
  const api = await openTelemetryApi.load();
  return { meter: api.metrics.getMeter(TELEMETRY_SCOPE), tracer: api.trace.getTracer(TELEMETRY_SCOPE) };
}

/** Reports that `telemetry: true` could not load the package after all: a process warning, requests unaffected. */
export function telemetryUnavailable(error: unknown): void {
  const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.emitWarning(`SessionMiddleware telemetry is off: @opentelemetry/api could not be loaded (${why}). Install it (npm install @opentelemetry/api) or pass { meter, tracer }.`, {
    code: 'SWARMAURI_SESSION_TELEMETRY',
  });
}
