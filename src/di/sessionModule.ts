import { ContainerModule } from 'inversify';
import type { SessionStore } from '../abstract/SessionStore.js';
import { SessionMiddleware } from '../concrete/SessionMiddleware.js';
import type { SessionMiddlewareOptions } from '../core/options.js';
import { MemoryStore } from '../stores/MemoryStore.js';
import { TYPES } from './TYPES.js';

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
 */
export function sessionModule(options: SessionMiddlewareOptions = {}): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<SessionMiddlewareOptions>(TYPES.SessionOptions).toConstantValue(options);
    // The store expires direct writes after maxAge even when resolved before the middleware.
    const maxAge = options.maxAge;
    const defaultTtlSeconds = typeof maxAge === 'number' && Number.isFinite(maxAge) && maxAge > 0 ? maxAge : undefined;
    bind<SessionStore>(TYPES.SessionStore)
      .toDynamicValue(() => new MemoryStore({ defaultTtlSeconds }))
      .inSingletonScope();
    bind(SessionMiddleware).toSelf().inSingletonScope();
    bind<SessionMiddleware>(TYPES.SessionMiddleware).toService(SessionMiddleware);
  });
}
