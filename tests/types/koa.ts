/**
 * Type tests of the Koa adapter, checked by `tsc --noEmit -p tsconfig.json`; never run.
 * Lines marked `@ts-expect-error` must fail to compile; every other line must compile.
 */
import Koa from 'koa';
import { Session, SessionMiddleware } from 'swarmauri-middleware-session';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | void {
  return undefined;
}

export function koaTypes(mw: SessionMiddleware): void {
  const app = new Koa();
  app.use(mw.koa());
  app.use(async (ctx, next) => {
    // The augmentation: ctx.session is the Session, ctx.state.sessionId a string (optional: an
    // app may replace ctx.state).
    const visits: number = await ctx.session.increment('visits');
    const session: Session = ctx.session;
    expectType<Equal<typeof ctx.state.sessionId, string | undefined>>();
    ctx.body = { visits, id: session.id, sessionId: ctx.state.sessionId };
    const typed = mw.sessionOf<{ visits: number }>(ctx);
    if (typed) expectType<Equal<ReturnType<typeof typed.get<'visits'>>, number | undefined>>();
    // @ts-expect-error increment takes a key and a number, not a number alone
    await ctx.session.increment(1);
    // @ts-expect-error the id follows the session (regenerate): it is read-only
    ctx.state.sessionId = 'mine';
    await next();
  });
  // Apps that replace ctx.state keep compiling.
  app.use(async (ctx, next) => {
    ctx.state = { user: 'alice' };
    await next();
  });

  // Mounts on an app with its own state and context types too.
  const typedApp = new Koa<{ user?: string }, { requestId: string }>();
  typedApp.use(mw.koa());
  typedApp.use((ctx) => {
    const user: string | undefined = ctx.state.user;
    ctx.body = { user, requestId: ctx.requestId };
  });

  // @ts-expect-error koa() takes no arguments
  mw.koa({ key: 'koa.sess' });
}
