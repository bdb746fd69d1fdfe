import { MemoryStore as CoreMemoryStore, type MemoryStoreOptions } from '../stores/MemoryStore.js';
import { isMetaKey } from '../core/meta.js';
import { Cookie } from './Cookie.js';
import { Store, type SessionData } from './Store.js';

const stores = new WeakMap<object, CoreMemoryStore>();

/** The core `MemoryStore` inside a `session.MemoryStore`: the drop-in uses it directly (field-level, synchronous). */
export function coreStoreOf(store: unknown): CoreMemoryStore | undefined {
  return typeof store === 'object' && store !== null ? stores.get(store) : undefined;
}

/** Seconds until `cookie.expires`, when it is a date in the future. */
function ttlOf(cookie: unknown): number | undefined {
  const expires = (cookie as { expires?: unknown } | null | undefined)?.expires;
  const at = expires instanceof Date || typeof expires === 'string' || typeof expires === 'number' ? new Date(expires).getTime() : NaN;
  return Number.isFinite(at) && at > Date.now() ? (at - Date.now()) / 1000 : undefined;
}

function settle<T>(promise: Promise<T>, callback: ((err?: any, result?: T) => void) | undefined): void {
  promise.then(
    (result) => callback?.(null, result),
    (error: unknown) => callback?.(error),
  );
}

/**
 * express-session's `MemoryStore` (`session.MemoryStore`), made of this library's bounded
 * `MemoryStore` (LRU eviction, expiry swept): given as `store`, the middleware uses that store
 * directly, with field-level writes; its callback methods (`get`, `set`, `all`, `length`, ...)
 * serve code that calls them as on express-session's. It is the default store. For one process
 * only: sessions end on restart.
 *
 * @example
 * ```ts
 * const store = new session.MemoryStore();
 * app.use(session({ secret, store }));
 * store.length((err, count) => console.log(count));
 * ```
 */
export class MemoryStore extends Store {
  readonly #store: CoreMemoryStore;

  /** `options`: the bounds of this library's `MemoryStore` (`maxEntries`, `maxBytes`); `EventEmitter`'s are accepted too. */
  constructor(options?: MemoryStoreOptions & { captureRejections?: boolean }) {
    super();
    const { captureRejections: _ignored, ...bounds } = options ?? {};
    this.#store = new CoreMemoryStore(bounds);
    stores.set(this, this.#store);
  }

  /** Calls back with the session of `sid` (its fields and `cookie`), or `null`. */
  override get(sid: string, callback: (err: any, session?: any) => void): void {
    settle(
      this.#store.load(sid).then((found) => {
        if (found?.state !== 'active') return null;
        const data: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(found.data)) if (!isMetaKey(key)) data[key] = value;
        const expires = found.expiresAt === undefined ? null : new Date(found.expiresAt);
        const cookie = new Cookie({ expires });
        return { ...data, cookie } as SessionData;
      }),
      callback,
    );
  }

  /** Stores the fields of `session` (not its `cookie`) under `sid`, until `cookie.expires`. */
  override set(sid: string, session: SessionData, callback?: (err?: any) => void): void {
    const { cookie, ...data } = session;
    settle(this.#store.set(sid, data, ttlOf(cookie)), callback);
  }

  /** Removes `sid` (its id stays refused until it would have expired). */
  override destroy(sid: string, callback?: (err?: any) => void): void {
    settle(this.#store.destroy(sid), callback);
  }

  /** Refreshes the expiry of `sid` to `session.cookie.expires`. */
  override touch(sid: string, session: SessionData, callback?: () => void): void {
    const ttl = ttlOf(session?.cookie) ?? this.#store.defaultTtlSeconds;
    settle(this.#store.touch(sid, ttl), callback);
  }

  /** Calls back with every live session, keyed by id. */
  override all(callback: (err: any, obj?: any) => void): void {
    const collect = async (): Promise<{ [sid: string]: SessionData }> => {
      const out: { [sid: string]: SessionData } = {};
      for await (const id of this.#store.ids()) {
        const session = await new Promise<SessionData | null | undefined>((resolve, reject) => this.get(id, (err, found) => (err ? reject(err) : resolve(found))));
        if (session) out[id] = session;
      }
      return out;
    };
    settle(collect(), callback);
  }

  /** Calls back with the number of live sessions. */
  override length(callback: (err: any, length?: number) => void): void {
    settle(this.#store.length(), callback);
  }

  /** Removes every session. */
  override clear(callback?: (err?: any) => void): void {
    settle(this.#store.clear(), callback);
  }

  /** Stops the expiry sweep's timer. */
  close(): void | Promise<void> {
    return this.#store.close();
  }
}
