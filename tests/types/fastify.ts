/**
 * Type tests of the Fastify adapter, checked by `tsc --noEmit -p tsconfig.json`; never run.
 * Lines marked `@ts-expect-error` must fail to compile; every other line must compile.
 */
import Fastify, { type FastifyPluginCallback, type FastifyReply, type FastifyRequest } from 'fastify';
import { SessionMiddleware, type Session, type SessionState } from 'swarmauri-middleware-session';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | void {
  return undefined;
}

export async function fastifyPlugin(): Promise<void> {
  const sessionMiddleware = new SessionMiddleware({ secret: 'a-secret-of-at-least-32-characters!!' });
  const plugin = sessionMiddleware.fastify();
  const asCallback: FastifyPluginCallback = plugin;
  void asCallback;

  const app = Fastify();
  await app.register(plugin);
  // Also on an instance with another server type (HTTP/2).
  await Fastify({ http2: true }).register(sessionMiddleware.fastify());

  app.get('/greet', async (request, reply) => {
    // The augmentation: request.session is the Session, request.state.sessionId its id.
    const visits = await request.session.increment('x');
    expectType<Equal<typeof visits, number>>();
    expectType<Equal<typeof request.session, Session>>();
    expectType<Equal<typeof request.state, SessionState>>();
    const id: string = request.state.sessionId;
    request.session.set('theme', 'dark');
    const typed = sessionMiddleware.sessionOf<{ visits: number }>(request);
    expectType<Equal<ReturnType<NonNullable<typeof typed>['get']>, number | undefined>>();

    // @ts-expect-error session keys are strings
    await request.session.increment(1);
    // @ts-expect-error the id follows the session; it is not assigned by hand
    request.state.sessionId = 'chosen';
    // @ts-expect-error the session lives on the request, not on the reply
    void reply.session;
    // @ts-expect-error a Session is not a plain record
    void request.session.visits;
    return { id, visits };
  });
}

// The augmentation is on Fastify's own request type, for hooks and handlers alike.
export function hook(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  return request.session.save();
}
