import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { EventLog, hashId, type SessionEvent, type SessionLogger } from '../../../src/core/logger.js';
import { IdTokens } from '../../../src/core/idToken.js';
import { MemoryStore, SessionMiddleware } from '../../../src/index.js';

const SECRET = 'test-secret-of-at-least-32-characters!!';
const ID = 'AAAAAAAAAAAAAAAAAAAAAA.s0m3.BBBBBBBBBBBBBBBBBBBBBBBB';

type Call = { level: string; event: SessionEvent; message: string };

function recordingLogger(): { logger: Required<SessionLogger>; calls: Call[] } {
  const calls: Call[] = [];
  const at = (level: string) => (event: SessionEvent, message: string) => {
    calls.push({ level, event, message });
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, calls };
}

describe('hashId', () => {
  it('is a stable 12-character base64url digest', () => {
    const a = hashId(ID);
    expect(a).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(hashId(ID)).toBe(a);
  });

  it('differs between ids and never contains the id or a sizeable piece of it', () => {
    const ids = Array.from({ length: 100 }, () => new IdTokens([SECRET]).issue());
    const hashes = new Set(ids.map(hashId));
    expect(hashes.size).toBe(100);
    for (const id of ids) {
      const hash = hashId(id);
      expect(hash).not.toContain(id);
      expect(id).not.toContain(hash);
      for (const part of id.split('.')) if (part.length >= 12) expect(hash).not.toContain(part.slice(0, 12));
    }
  });

  it('hashes short ids too (client-named ones)', () => {
    expect(hashId('abcdefgh')).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(hashId('abcdefgh')).not.toContain('abcdefgh');
  });
});

describe('EventLog', () => {
  it.each([
    ['created', 'debug'],
    ['loaded', 'debug'],
    ['regenerated', 'info'],
    ['destroyed', 'info'],
    ['rejected', 'warn'],
    ['no-secret', 'warn'],
    ['store-error', 'error'],
  ] as const)('sends %s to %s with the id hashed', (event, level) => {
    const { logger, calls } = recordingLogger();
    new EventLog(logger).emit(event, ID);
    expect(calls).toEqual([{ level, event: { event, sessionId: hashId(ID) }, message: `session ${event}` }]);
    expect(JSON.stringify(calls)).not.toContain(ID);
  });

  it('passes extra fields and omits sessionId when there is no id', () => {
    const { logger, calls } = recordingLogger();
    const log = new EventLog(logger);
    log.emit('rejected', ID, { reason: 'bad-signature' });
    log.emit('regenerated', 'new-id-123456', { previousSessionId: ID });
    log.emit('store-error', undefined, { error: 'store-timeout: load' });
    expect(calls.map((c) => c.event)).toEqual([
      { event: 'rejected', sessionId: hashId(ID), reason: 'bad-signature' },
      { event: 'regenerated', sessionId: hashId('new-id-123456'), previousSessionId: hashId(ID) },
      { event: 'store-error', error: 'store-timeout: load' },
    ]);
    expect('sessionId' in (calls[2] as Call).event).toBe(false);
  });

  it('calls methods with the logger as `this` (pino-style loggers)', () => {
    class ClassLogger {
      readonly seen: string[] = [];
      warn(event: SessionEvent): void {
        this.seen.push(event.event);
      }
    }
    const logger = new ClassLogger();
    new EventLog(logger).emit('rejected', ID);
    expect(logger.seen).toEqual(['rejected']);
  });

  it('survives a throwing logger', () => {
    let thrown = 0;
    const explode = (): never => {
      thrown++;
      throw new Error('logger down');
    };
    const log = new EventLog({ debug: explode, info: explode, warn: explode, error: explode });
    expect(() => log.emit('created', ID)).not.toThrow();
    expect(() => log.emit('destroyed', ID)).not.toThrow();
    expect(() => log.emit('rejected', ID)).not.toThrow();
    expect(() => log.emit('store-error', undefined)).not.toThrow();
    expect(thrown).toBe(4);
  });

  it('skips missing methods and does not send events to another level', () => {
    const warn = jest.fn<(event: SessionEvent, message: string) => void>();
    const log = new EventLog({ warn });
    expect(() => log.emit('created', ID)).not.toThrow();
    expect(() => log.emit('regenerated', ID)).not.toThrow();
    expect(() => log.emit('store-error', undefined)).not.toThrow();
    expect(warn).not.toHaveBeenCalled();
    log.emit('rejected', ID);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('does nothing without a logger or with an empty one', () => {
    expect(() => new EventLog(undefined).emit('created', ID)).not.toThrow();
    expect(() => new EventLog({}).emit('created', ID)).not.toThrow();
  });
});

describe('SessionMiddleware logging', () => {
  const store = new MemoryStore();
  afterAll(() => store.close());

  it('logs created and rejected events with hashed ids only', async () => {
    const { logger, calls } = recordingLogger();
    const mw = new SessionMiddleware({ secret: SECRET, sessionStorage: store, logger });
    const forged = 'client-made-up-session-id-0001';
    const response = await mw.dispatch(
      new Request('http://localhost/', { headers: { 'x-session-id': forged } }),
      () => new Response('ok'),
    );
    const issued = response.headers.get('x-session-id') as string;
    expect(issued).not.toBe(forged);
    expect(calls).toContainEqual({
      level: 'warn',
      event: { event: 'rejected', sessionId: hashId(forged), reason: 'not-issued' },
      message: 'session rejected',
    });
    expect(calls).toContainEqual({ level: 'debug', event: { event: 'created', sessionId: hashId(issued) }, message: 'session created' });
    const logged = JSON.stringify(calls);
    expect(logged).not.toContain(forged);
    expect(logged).not.toContain(issued);
  });

  it('sends no-secret to the logger when no secret is given', () => {
    const { logger, calls } = recordingLogger();
    new SessionMiddleware({ sessionStorage: store, logger });
    expect(calls).toContainEqual({ level: 'warn', event: { event: 'no-secret' }, message: 'session no-secret' });
  });
});
