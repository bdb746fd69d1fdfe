/**
 * `MiddlewareBase`: user middleware can subclass it, Inversify 8 can construct the subclasses
 * (with and without dependencies of their own), and `SessionMiddleware` is one of them.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Container, inject, injectable } from 'inversify';
import { MemoryStore, MiddlewareBase, SessionMiddleware, type WebNext } from '../../../src/index.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[0-9a-z]{1,10}\.[A-Za-z0-9_-]{24}$/;

/** The timing middleware of the MiddlewareBase docs, on Web Request/Response. */
@injectable()
class Timing extends MiddlewareBase<Request, WebNext, Response> {
  readonly seen: Request[] = [];

  async dispatch(request: Request, next: WebNext): Promise<Response> {
    this.seen.push(request);
    const started = performance.now();
    const response = await next(request);
    // A Response's headers may be immutable (Response.redirect(), fetch()): answer with a copy.
    const headers = new Headers(response.headers);
    headers.set('server-timing', `app;dur=${(performance.now() - started).toFixed(3)}`);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

const LABEL = Symbol('label');

/** A subclass with a dependency of its own, injected by the container. */
@injectable()
class Stamp extends MiddlewareBase<Request, WebNext, Response> {
  constructor(@inject(LABEL) readonly label: string) {
    super();
  }

  async dispatch(request: Request, next: WebNext): Promise<Response> {
    const response = await next(request);
    response.headers.set('x-stamp', this.label);
    return response;
  }
}

const SERVER_TIMING = /^app;dur=\d+(\.\d+)?$/;

describe('MiddlewareBase', () => {
  const stores: MemoryStore[] = [];
  afterEach(() => {
    stores.splice(0).forEach((store) => store.close());
  });

  it('lets a user subclass wrap a Web handler: next gets the same request, the response gains a header', async () => {
    const timing = new Timing();
    expect(timing).toBeInstanceOf(MiddlewareBase);
    const request = new Request('http://localhost/hello');
    let handled: Request | undefined;
    const response = await timing.dispatch(request, (r) => {
      handled = r;
      return new Response('hi', { status: 201 });
    });
    expect(handled).toBe(request);
    expect(timing.seen).toEqual([request]);
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('hi');
    expect(response.headers.get('server-timing')).toMatch(SERVER_TIMING);
  });

  it('propagates a rejection of next', async () => {
    const timing = new Timing();
    await expect(
      timing.dispatch(new Request('http://localhost/'), () => Promise.reject(new Error('handler failed'))),
    ).rejects.toThrow('handler failed');
  });

  it('is injectable with Inversify 8: container.bind(Sub).toSelf(); container.get(Sub)', async () => {
    const container = new Container();
    container.bind(Timing).toSelf();
    const timing = container.get(Timing);
    expect(timing).toBeInstanceOf(Timing);
    expect(timing).toBeInstanceOf(MiddlewareBase);
    // Transient scope by default: a new instance per resolution.
    expect(container.get(Timing)).not.toBe(timing);
    const response = await timing.dispatch(new Request('http://localhost/'), () => new Response('ok'));
    expect(response.headers.get('server-timing')).toMatch(SERVER_TIMING);
  });

  it('lets the container inject the dependencies of a subclass, and resolve it in singleton scope', async () => {
    const container = new Container();
    container.bind<string>(LABEL).toConstantValue('from-the-container');
    container.bind(Stamp).toSelf().inSingletonScope();
    const stamp = container.get(Stamp);
    expect(stamp).toBeInstanceOf(MiddlewareBase);
    expect(stamp.label).toBe('from-the-container');
    expect(container.get(Stamp)).toBe(stamp);
    const response = await stamp.dispatch(new Request('http://localhost/'), () => new Response('ok'));
    expect(response.headers.get('x-stamp')).toBe('from-the-container');
  });

  it('is the base class of SessionMiddleware', () => {
    const store = new MemoryStore();
    stores.push(store);
    const sessions = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    expect(sessions).toBeInstanceOf(MiddlewareBase);
    expect(sessions).toBeInstanceOf(SessionMiddleware);
    expect(Object.getPrototypeOf(SessionMiddleware.prototype)).toBe(MiddlewareBase.prototype);
  });

  it('composes with SessionMiddleware: a user middleware around the session dispatch sees the session headers', async () => {
    const store = new MemoryStore();
    stores.push(store);
    const sessions = new SessionMiddleware({ secret: SECRET, sessionStorage: store });
    const timing = new Timing();
    const response = await timing.dispatch(new Request('http://localhost/count'), (request) =>
      sessions.dispatch(request, async (inner) => {
        const visits = await sessions.sessionOf(inner)!.increment('visits');
        return Response.json({ visits });
      }),
    );
    expect(await response.json()).toEqual({ visits: 1 });
    expect(response.headers.get('server-timing')).toMatch(SERVER_TIMING);
    const id = response.headers.get('x-session-id');
    expect(id).toMatch(TOKEN_SHAPE);
    expect(await store.get(id as string)).toEqual({ visits: 1 });
  });
});

describe('the documented Timing example', () => {
  it('works on a redirect, whose headers are immutable', async () => {
    const response = await new Timing().dispatch(new Request('http://x/'), () => Response.redirect('http://x/next', 302));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://x/next');
    expect(response.headers.get('server-timing')).toMatch(/^app;dur=/);
  });
});
