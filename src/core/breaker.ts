import type { EventLog } from './logger.js';

/** What the breaker decides for a store call. */
export type Admission = 'call' | 'probe' | 'refuse';

/**
 * The breaker's state as a number, for a gauge: 0 closed (calls go through), 1 half-open (the
 * cooldown is over: the next call, or the one in flight, is a probe), 2 open (calls are refused).
 */
export type BreakerState = 0 | 1 | 2;

/**
 * A circuit breaker in front of the store: after `failures` outages in a row (failed or timed-out
 * calls), calls fail at once for `cooldownMs` instead of each waiting `storeTimeout`; then one
 * probe call at a time is let through, and the first that succeeds closes the circuit again.
 * Errors that are the caller's (a value too large, not a number) are answers, not outages.
 */
export class CircuitBreaker {
  readonly #failures: number;
  readonly #cooldownMs: number;
  readonly #log: EventLog;
  #inARow = 0;
  #openUntil = 0;
  #open = false;
  #probing = false;

  constructor(failures: number, cooldownMs: number, log: EventLog) {
    this.#failures = failures;
    this.#cooldownMs = cooldownMs;
    this.#log = log;
  }

  /** True while calls are refused (or only probes let through). */
  get open(): boolean {
    return this.#open;
  }

  /** See {@link BreakerState}; read by the telemetry's gauge at each collection. */
  get state(): BreakerState {
    if (!this.#open) return 0;
    return this.#probing || Date.now() >= this.#openUntil ? 1 : 2;
  }

  admit(): Admission {
    if (!this.#open) return 'call';
    if (this.#probing || Date.now() < this.#openUntil) return 'refuse';
    this.#probing = true;
    return 'probe';
  }

  succeeded(admission: Admission): void {
    this.#inARow = 0;
    if (admission === 'probe') this.#probing = false;
    if (this.#open && admission === 'probe') {
      this.#open = false;
      this.#log.emit('store-up', undefined);
    }
  }

  failed(admission: Admission): void {
    if (admission === 'probe') {
      this.#probing = false;
      this.#openUntil = Date.now() + this.#cooldownMs;
      return;
    }
    if (this.#open) return;
    if (++this.#inARow < this.#failures) return;
    this.#open = true;
    this.#openUntil = Date.now() + this.#cooldownMs;
    this.#log.emit('store-down', undefined, { error: `${this.#inARow} store failures in a row; calls fail at once for ${this.#cooldownMs} ms, then one probe at a time` });
  }
}
