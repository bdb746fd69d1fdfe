/**
 * Type tests of the Hono adapter, checked by `tsc --noEmit -p tsconfig.json`; never run.
 * Lines marked `@ts-expect-error` must fail to compile; every other line must compile.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { Session, SessionMiddleware, type HonoSessionMiddleware } from 'swarmauri-middleware-session';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | void {
  return undefined;
}

export function honoTypes(mw: SessionMiddleware): void {
  const middleware: HonoSessionMiddleware = mw.hono();
  const handler: MiddlewareHandler = middleware;
  const app = new Hono();
  app.use(handler);
  app.get('/greet', async (c) => {
    // The augmentation (Hono's ContextVariableMap): c.get('session') and c.var.session are the Session.
    const visits: number = await c.get('session').increment('visits');
    const session: Session = c.var.session;
    const got = c.get('session');
    expectType<Equal<typeof got, Session>>();
    // The lifecycle key is the Web Request: sessionOf(c.req.raw) finds the session, typed with its data.
    const typed = mw.sessionOf<{ visits: number }>(c.req.raw);
    if (typed) expectType<Equal<ReturnType<typeof typed.get<'visits'>>, number | undefined>>();
    // @ts-expect-error increment takes a key and a number, not a number alone
    await c.get('session').increment(1);
    // @ts-expect-error the session variable holds a Session, not a string
    c.set('session', 'not-a-session');
    return c.json({ visits, id: session.id });
  });

  // Mounts on an app with its own bindings and variables too.
  const typedApp = new Hono<{ Bindings: { SECRET: string }; Variables: { user: string } }>();
  typedApp.use(mw.hono());
  typedApp.get('/', (c) => c.json({ user: c.get('user'), secret: c.env.SECRET, id: c.get('session').id }));

  // @ts-expect-error hono() takes no arguments
  mw.hono({ cookie: 'sid' });
}
