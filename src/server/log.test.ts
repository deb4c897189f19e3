import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { createLogger, errorFields } from './log.ts';

class Sink extends Writable {
  writes: string[] = [];
  override _write(chunk: Buffer, _e: string, cb: () => void) {
    this.writes.push(chunk.toString());
    cb();
  }
}

test('one JSON object per line; lines of one turn are written together; levels filter', async () => {
  const sink = new Sink();
  const log = createLogger(sink, { level: 'info', now: () => new Date('2026-01-02T03:04:05.000Z') });
  log.debug('hidden');
  log.info('admission', { uid: 'u1', namespace: 'shop' });
  log.error('oops', { n: 1 });
  assert.equal(sink.writes.length, 0, 'buffered until the turn ends');
  await tick();
  assert.equal(sink.writes.length, 1);
  assert.deepEqual(
    (sink.writes[0] as string)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
    [
      { time: '2026-01-02T03:04:05.000Z', level: 'info', msg: 'admission', uid: 'u1', namespace: 'shop' },
      { time: '2026-01-02T03:04:05.000Z', level: 'error', msg: 'oops', n: 1 },
    ],
  );
  log.warn('now', { big: 10n as unknown as number });
  log.flush();
  assert.equal(JSON.parse(sink.writes[1] as string).note, 'fields could not be serialised');
  assert.deepEqual(errorFields(new Error('x')), { error: 'x' });
  assert.equal(typeof errorFields(new Error('x'), true).stack, 'string');
  assert.deepEqual(errorFields('s'), { error: 's' });
});
