import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LogLeakDetector } from '../support/log-leak-detector.ts';

/* The detector that whole-call suites log through must itself be able to fail. */

test('the log leak detector passes masked lines and fails on a full number, a token or a named secret', () => {
  const clean = new LogLeakDetector({ secrets: ['esl-pw-0a9b8c'] });
  clean.log.info({ from: '13812345678', password: 'esl-pw-0a9b8c' }, 'inbound call');
  clean.log.child({ callId: 'c1' }).debug({ event: { text: '我的手机是一三八一二三四五六七八' } }, 'timeline');
  clean.assertClean();

  for (const [what, write] of [
    ['a number in the message text', (d: LogLeakDetector) => d.log.info('dialling 13812345678')],
    ['spoken Chinese digits', (d: LogLeakDetector) => d.log.info({ note: '一三八一二三四五六七八' }, 'x')],
    ['a card number', (d: LogLeakDetector) => d.log.warn({ note: '6222021234567890128' }, 'x')],
    ['an API token', (d: LogLeakDetector) => d.log.info({ note: 'cpt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'x')],
    ['a named secret', (d: LogLeakDetector) => d.log.info({ url: 'http://x/?k=esl-pw-0a9b8c' }, 'x')],
  ] as const) {
    const d = new LogLeakDetector({ secrets: ['esl-pw-0a9b8c'] });
    write(d);
    assert.throws(() => d.assertClean(), /carry a full number or a secret/, what);
  }
  assert.throws(() => new LogLeakDetector().assertClean(), /nothing was logged/);
});

test.run();
