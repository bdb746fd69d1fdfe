import { inspect } from 'node:util';
import type { Session as CoreSession } from '../concrete/Session.js';
import type { Cookie } from './Cookie.js';
import { HOST, Session, type SessionHost } from './Session.js';

/**
 * What a view reads its fields from: the request's live core session, or, once detached (by a
 * regenerate, a destroy or `req.session = null`), a snapshot of the fields it had then, as
 * express-session's old `Session` object keeps its fields.
 */
export class ViewSource {
  /** The live core session; `undefined` once detached. */
  core: CoreSession | undefined;
  /** The fields at the moment the view was detached. */
  snapshot: Record<string, unknown> | undefined;
  #detachedId = '';
  readonly #cookie: () => Cookie;

  constructor(
    /** The request's host (the view's methods act through it). */
    readonly host: SessionHost,
    core: CoreSession,
    /** Makes (once) `req.session.cookie`: most requests never read it. */
    cookie: () => Cookie,
    /** The request. */
    readonly req: object,
  ) {
    this.core = core;
    this.#cookie = cookie;
  }

  /** `req.session.cookie`. */
  get cookie(): Cookie {
    return this.#cookie();
  }

  /** The id the view stands for. */
  get id(): string {
    return this.core ? this.core.id : this.#detachedId;
  }

  /** From now on the view holds a copy of its fields and no longer reaches the session. */
  detach(): void {
    const core = this.core;
    if (!core) return;
    this.#detachedId = core.id;
    this.snapshot = core.isDestroyed ? {} : core.toJSON();
    this.core = undefined;
  }
}

/** Members of express-session's `Session` that are no session fields. */
const MEMBERS = new Set(['id', 'cookie', 'req', 'regenerate', 'destroy', 'reload', 'save', 'touch', 'resetMaxAge']);

type Target = Session & { [SOURCE]: ViewSource };
const SOURCE: unique symbol = Symbol('swarmauri-middleware-session/express-session view source');

function fields(source: ViewSource): string[] {
  return source.core ? Object.keys(source.core.toJSON()) : Object.keys(source.snapshot ?? {});
}

function has(source: ViewSource, key: string): boolean {
  return source.core ? source.core.has(key) : Object.hasOwn(source.snapshot ?? {}, key);
}

function read(source: ViewSource, key: string): unknown {
  return source.core ? source.core.get(key) : source.snapshot?.[key];
}

/** A write to a field: through the core session (validated, tracked) or to the snapshot. */
function write(source: ViewSource, key: string, value: unknown): void {
  if (source.core) {
    if (value === undefined) source.core.delete(key);
    else source.core.set(key, value);
  } else if (source.snapshot) {
    source.snapshot[key] = value;
  }
}

function remove(source: ViewSource, key: string): void {
  if (source.core) source.core.delete(key);
  else if (source.snapshot) delete source.snapshot[key];
}

/**
 * The traps that make a view behave as express-session's `Session` object: fields as own
 * enumerable properties (so `Object.keys`, `for...in`, spreading and `JSON.stringify` see them,
 * with `cookie`), `id` non-enumerable, the methods on the prototype.
 */
const traps: ProxyHandler<Target> = {
  get(target, key, receiver) {
    if (typeof key === 'symbol') return Reflect.get(target, key, receiver);
    const source = target[SOURCE];
    if (key === 'id') return source.id;
    if (key === 'cookie') return source.cookie;
    if (key === 'req') return source.req;
    if (!MEMBERS.has(key) && has(source, key)) return read(source, key);
    return Reflect.get(target, key, receiver);
  },
  set(target, key, value, receiver) {
    if (typeof key === 'symbol') return Reflect.set(target, key, value, receiver);
    // express-session's id is read-only, its methods and cookie are not session fields:
    // assignments to them (Passport's keepSessionInfo copies `cookie`) change nothing.
    if (!MEMBERS.has(key)) write(target[SOURCE], key, value);
    return true;
  },
  deleteProperty(target, key) {
    if (typeof key === 'symbol') return Reflect.deleteProperty(target, key);
    if (!MEMBERS.has(key)) remove(target[SOURCE], key);
    return true;
  },
  has(target, key) {
    if (typeof key === 'symbol') return Reflect.has(target, key);
    if (key === 'id' || key === 'cookie' || key === 'req') return true;
    return has(target[SOURCE], key) || Reflect.has(target, key);
  },
  ownKeys(target) {
    return ['id', 'cookie', ...fields(target[SOURCE]).filter((key) => !MEMBERS.has(key))];
  },
  getOwnPropertyDescriptor(target, key) {
    if (typeof key === 'symbol') return Reflect.getOwnPropertyDescriptor(target, key);
    const source = target[SOURCE];
    if (key === 'id') return { value: source.id, writable: false, enumerable: false, configurable: true };
    if (key === 'cookie') return { value: source.cookie, writable: true, enumerable: true, configurable: true };
    if (MEMBERS.has(key) || !has(source, key)) return undefined;
    return { value: read(source, key), writable: true, enumerable: true, configurable: true };
  },
  defineProperty(target, key, descriptor) {
    if (typeof key === 'symbol') return Reflect.defineProperty(target, key, descriptor);
    // Only plain values can be session fields.
    if (!('value' in descriptor)) return false;
    if (!MEMBERS.has(key)) write(target[SOURCE], key, descriptor.value);
    return true;
  },
};

/** The source of a view made by {@link createView}. */
export function sourceOf(view: Session): ViewSource {
  return (view as unknown as Target)[SOURCE];
}

/** The prototype of view targets: a `Session`, which `console.log` shows as express-session's. */
class ViewTarget extends Session {
  // util.inspect formats a proxy's target, not through the traps: show the fields, not the internals.
  [inspect.custom](): object {
    const source = (this as unknown as Target)[SOURCE];
    const shown: Record<string, unknown> = { cookie: source.cookie };
    for (const key of fields(source)) if (!MEMBERS.has(key)) shown[key] = read(source, key);
    return Object.setPrototypeOf(shown, Session.prototype) as object;
  }
}

/** A `req.session` over `source`: an express-session `Session` (instanceof included). */
export function createView(source: ViewSource): Session {
  const target = Object.create(ViewTarget.prototype) as Target;
  Object.defineProperty(target, SOURCE, { value: source, configurable: true });
  Object.defineProperty(target, HOST, { value: source.host, configurable: true });
  return new Proxy(target, traps);
}
