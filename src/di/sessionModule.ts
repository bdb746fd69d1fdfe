import { ContainerModule } from 'inversify';
import type { SessionStore } from '../abstract/SessionStore.js';
import { SessionError } from '../core/SessionError.js';
import { SessionMiddleware } from '../concrete/SessionMiddleware.js';
import type { SessionMiddlewareOptions } from '../engine/options.js';
import { MemoryStore } from '../stores/MemoryStore.js';
import { TYPES } from '../abstract/TYPES.js';

/** The inversify versions this library works with; the same range as `peerDependencies.inversify`. */
const SUPPORTED_INVERSIFY = '^7.0.0 || ^8.0.0';

/**
 * An Inversify module binding `TYPES.SessionOptions` (to `options`), `TYPES.SessionStore` (a
 * singleton {@link MemoryStore}) and the singleton {@link SessionMiddleware}, resolvable both as
 * `SessionMiddleware` and as `TYPES.SessionMiddleware`.
 *
 * @example
 * ```ts
 * const container = new Container();
 * container.load(sessionModule({ secret: process.env.SESSION_SECRET }));
 * container.rebind(TYPES.SessionStore).to(MyStore).inSingletonScope(); // swap the store
 * app.use(container.get(SessionMiddleware).express());
 * ```
 *
 * Works with inversify 7 and 8 (the package's peer range). In inversify 7 `load` and `rebind`
 * return Promises: `await` them (`rebindSync` exists from 7.3, `loadSync` from 7.5); before 7.3
 * there is no `rebind`: `await container.unbind(TYPES.SessionStore)`, then `bind` it.
 *
 * @throws {@link SessionError} of kind `invalid-option` (option `inversify`) when loaded by an
 * unsupported inversify (6 or older; this package's peer range is `^7.0.0 || ^8.0.0`).
 */
export function sessionModule(options: SessionMiddlewareOptions = {}): ContainerModule {
  return new ContainerModule((loadOptions) => {
    // inversify 7 and 8 pass one options object; inversify 6 passes `bind` itself as the first
    // argument, whose `.bind` would be Function.prototype.bind.
    const received: unknown = loadOptions;
    if (typeof received !== 'object' || received === null || typeof (received as { bind?: unknown }).bind !== 'function') {
      throw new SessionError(
        'invalid-option',
        `sessionModule supports inversify ${SUPPORTED_INVERSIFY} only, but an older inversify is loading it (inversify 6 and earlier pass \`bind\` as a function, not an options object): upgrade inversify to 7 or 8`,
        { option: 'inversify' },
      );
    }
    const { bind } = loadOptions;
    bind<SessionMiddlewareOptions>(TYPES.SessionOptions).toConstantValue(options);
    // The store expires direct writes after maxAge even when resolved before the middleware.
    const maxAge = options.maxAge;
    const defaultTtlSeconds = typeof maxAge === 'number' && Number.isFinite(maxAge) && maxAge > 0 ? maxAge : undefined;
    bind<SessionStore>(TYPES.SessionStore)
      .toDynamicValue(() => new MemoryStore({ defaultTtlSeconds }))
      .inSingletonScope()
      // The container made this store, so it releases it (the sweep timer) when unbinding it.
      .onDeactivation((store) => store.close());
    bind(SessionMiddleware).toSelf().inSingletonScope();
    bind<SessionMiddleware>(TYPES.SessionMiddleware).toService(SessionMiddleware);
  });
}
