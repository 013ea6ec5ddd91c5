import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MediaWebSocketClient } from '../../src/media/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { captureLog } from '../support/log-capture.ts';
import { findFullNumbers } from '../support/number-detector.ts';
import { startScriptedApp } from './scripted-app.ts';

/*
 * Issue 9: phone and card numbers never appear in full in logs. The whole app runs calls carrying numbers in every
 * place they come from (from/to, variables, a spoken transcript in Chinese digits, refused starts) with the
 * production logger at debug level; every line it wrote goes through the detector.
 */

test('a full call logged at debug level shows no full CN mobile or card number', async () => {
  const capture = captureLog();
  const log = createLogger({ level: 'debug' }, capture.stream);
  const s = await startScriptedApp({ maxCalls: 1 }, { log });
  try {
    const client = new MediaWebSocketClient();
    const callId = await client.connect(
      s.wsUrl,
      {
        codec: 'pcmu',
        sampleRate: 8000,
        lang: 'zh',
        flow: 'demo',
        from: '13812345678',
        to: '+8613987654321',
        variables: { phone: '13712345678', card: '6222021234567890128', note: '客户手机13612345678' },
      },
      { token: s.token },
    );
    // A second call over maxCalls is refused (its start is logged too).
    const refused = new MediaWebSocketClient();
    await refused.connect(s.wsUrl, { codec: 'pcmu', sampleRate: 8000, from: '13512345678' }, { token: s.token }).catch(() => undefined);
    client.sendFrame(new Int16Array(160));
    await new Promise((r) => setTimeout(r, 200));
    const speech = s.speech.speechOf(callId);
    const at = speech.startSpeech();
    client.sendFrame(new Int16Array(160));
    speech.endSpeech('我的手机是一三八一二三四五六七八，卡号6222021234567890128', at);
    await new Promise((r) => setTimeout(r, 300));
    client.hangup();
    await new Promise((r) => client.once('close', () => r(undefined)));
  } finally {
    await s.dispose();
  }
  const out = capture.text();
  assert.ok(out.split('\n').length > 10, 'the call was logged');

  if (!out.includes('一三八****五六七八')) console.error(out.split('\n').filter((l) => l.includes('timeline') || l.includes('final')).slice(0, 5).join('\n'));
  const leaks = out.split('\n').filter((l) => findFullNumbers(l).length > 0);
  assert.equal(leaks, []);
});

test.run();
