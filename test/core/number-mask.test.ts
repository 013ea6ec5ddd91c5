import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { maskNumber, maskText, maskValue, maskVariables } from '../../src/core/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { captureLog } from '../support/log-capture.ts';
import { findFullNumbers } from '../support/number-detector.ts';

test('CN mobiles keep the carrier block and the last 4, with or without a country prefix', () => {
  assert.is(maskNumber('13812345678'), '138****5678');
  assert.is(maskNumber('+8613812345678'), '+86138****5678');
  assert.is(maskNumber('008613812345678'), '0086138****5678');
  assert.is(maskNumber('138 1234 5678'), '138 **** 5678');
  assert.is(maskNumber('tel:+8613812345678'), 'tel:+86138****5678');
});

test('E.164 numbers keep their country code and the last 4', () => {
  assert.is(maskNumber('+14155552671'), '+1******2671');
  assert.is(maskNumber('+442079460958'), '+44******0958');
  assert.is(maskNumber('+44 20 7946 0958'), '+44 ** **** 0958');
  assert.is(maskNumber('+85291234567'), '+852****4567');
});

test('landlines, cards and ID numbers keep only the last 4', () => {
  assert.is(maskNumber('010-62345678'), '***-****5678');
  assert.is(maskNumber('075588886666'), '********6666');
  assert.is(maskNumber('6222021234567890123'), '***************0123');
  assert.is(maskNumber('4111 1111 1111 1111'), '**** **** **** 1111');
  assert.is(maskNumber('110101199003077758'), '**************7758');
});

test('extensions, service numbers and empty values are left alone', () => {
  assert.is(maskNumber('1001'), '1001');
  assert.is(maskNumber('95588'), '95588');
  assert.is(maskNumber('alice'), 'alice');
  assert.is(maskNumber(''), '');
  assert.is(maskNumber(undefined), undefined);
});

test('text: Arabic digit runs, dial strings and several numbers in one string', () => {
  assert.is(maskText('PJSIP/13812345678@trunk'), 'PJSIP/138****5678@trunk');
  assert.is(maskText('sofia/gateway/gw1/8613812345678'), 'sofia/gateway/gw1/86138****5678');
  assert.is(maskText('请拨打13812345678或者010-62345678'), '请拨打138****5678或者***-****5678');
  assert.is(maskText('PJSIP/1001@192.168.1.10'), 'PJSIP/1001@192.168.1.10');
  assert.is(maskText('还款日期 2026-12-02'), '还款日期 2026-12-02');
});

test('text: spoken Chinese digits, 幺 and grouped digits', () => {
  assert.is(maskText('我的号码是一三八一二三四五六七八'), '我的号码是一三八****五六七八');
  assert.is(maskText('幺三八 幺二三四 五六七八 谢谢'), '幺三八 **** 五六七八 谢谢');
  assert.is(maskText('卡号六二二二零二一二三四五六七八九零一二三'), '卡号***************零一二三');
  // Ordinary words with 一 in them are not numbers.
  assert.is(maskText('一个一个来，等一下'), '一个一个来，等一下');
});

test('text: spoken English digits, double and triple', () => {
  assert.is(
    maskText('my number is one three eight one two three four five six seven eight thanks'),
    'my number is one three eight **** five six seven eight thanks',
  );
  assert.is(maskText('call double five one two three four five six seven'), 'call ***** four five six seven');
  assert.is(maskText('I need one or two days'), 'I need one or two days');
});

test('variables: sensitive names and number-looking values are masked, the rest kept', () => {
  const masked = maskVariables({ phone: '13812345678', name: '张三', cardLast6: '123456', note: '卡号6222021234567890123', amount: '3000' });
  assert.equal(masked, { phone: '138****5678', name: '张三', cardLast6: '**3456', note: '卡号***************0123', amount: '3000' });
  assert.equal(maskValue({ a: ['13812345678', 5], b: { mobile: '13812345678' } }), { a: ['138****5678', 5], b: { mobile: '138****5678' } });
});

test('pino redaction masks from/to, dial strings, variables, transcripts and child bindings', () => {
  const capture = captureLog();
  const log = createLogger({ level: 'debug' }, capture.stream);
  log.info({ from: '13812345678', to: '+8613987654321', endpoint: 'PJSIP/13812345678@trunk' }, 'inbound call');
  log.child({ callId: 'c1', from: '13812345678' }).info({ variables: { phone: '13812345678', orderNo: 'A1' } }, 'started');
  log.debug({ event: { type: 'final', text: '我的手机是一三八一二三四五六七八' } }, 'timeline');
  log.warn({ err: new Error('originate PJSIP/13812345678@trunk refused') }, 'originate refused');
  // ESL errors carry the command they were sending, and an originate quotes the callee and its variables.
  const command = 'bgapi originate {origination_caller_id_number=13800138002}sofia/gateway/trunk/13900139003 &park()';
  log.warn({ err: Object.assign(new Error('ESL connection lost'), { command }) }, 'originate failed');
  const out = capture.text();
  assert.equal(findFullNumbers(out), []);
  assert.ok(out.includes('138****5678'));
  assert.ok(out.includes('"orderNo":"A1"'));
  assert.ok(out.includes('trunk/139****9003'), 'the command is kept, masked');
  assert.ok(out.includes('"callId":"c1"'));
});

test('the detector finds what it must', () => {
  assert.equal(findFullNumbers('x 13812345678 y'), ['13812345678']);
  assert.equal(findFullNumbers('card 6222021234567890128'), ['6222021234567890128']);
  assert.equal(findFullNumbers('一三八一二三四五六七八'), ['一三八一二三四五六七八']);
  assert.equal(findFullNumbers('138****5678 0190a1b2-3c4d-7e5f-8a6b-1c2d3e4f5a6b time 1796207138802'), []);
});

test.run();
