import { injectable } from 'inversify';

/**
 * The contract of a middleware: `dispatch(request, next)`, as in the Python package's
 * `dispatch(request, call_next)`. Subclasses decide which request and `next` shapes they serve.
 *
 * @typeParam TRequest - the request type(s) accepted.
 * @typeParam TNext - the continuation type(s) accepted.
 * @typeParam TResult - what `dispatch` resolves to.
 *
 * @example
 * ```ts
 * class Timing extends MiddlewareBase<Request, (r: Request) => Promise<Response>, Response> {
 *   async dispatch(request: Request, next: (r: Request) => Promise<Response>) {
 *     const started = performance.now();
 *     const response = await next(request);
 *     // A Response's headers may be immutable (Response.redirect(), fetch()): answer with a copy.
 *     const headers = new Headers(response.headers);
 *     headers.set('server-timing', `app;dur=${performance.now() - started}`);
 *     return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
 *   }
 * }
 * ```
 */
@injectable()
export abstract class MiddlewareBase<TRequest = unknown, TNext = unknown, TResult = unknown> {
  /** Handles `request`, calling `next` to reach the rest of the application. */
  abstract dispatch(request: TRequest, next: TNext): Promise<TResult>;
}
