import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LiveFeed, type LiveCloseReason, type LiveMessage, type LiveSink } from '../../src/calls/index.ts';
import { newCallId } from '../../src/core/index.ts';
import { combineObservers, type CallObserver, type ObservedCall } from '../../src/dialog/index.ts';
import type { NewQaHit } from '../../src/store/index.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();

/** A sink that records what it got; `auto` acknowledges every write at once, otherwise `ack()` does, one at a time. */
class RecordingSink implements LiveSink {
  readonly messages: LiveMessage[] = [];
  readonly pending: (() => void)[] = [];
  closed: LiveCloseReason | undefined;
  constructor(private readonly auto = true) {}
  send(message: { seq: number; type: string; text: string }, done: () => void): void {
    const parsed = JSON.parse(message.text) as LiveMessage;
    assert.is(parsed.seq, message.seq);
    assert.is(parsed.type, message.type);
    this.messages.push(parsed);
    if (this.auto) done();
    else this.pending.push(done);
  }
  close(reason: LiveCloseReason): void {
    this.closed = reason;
  }
  ack(): void {
    this.pending.shift()?.();
  }
  types(): string[] {
    return this.messages.map((m) => m.type);
  }
}

/** QA's `onHit` side, driven by the test. */
class FakeQa {
  private readonly listeners = new Set<(hit: NewQaHit) => void>();
  onHit(listener: (hit: NewQaHit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(hit: NewQaHit): void {
    for (const l of this.listeners) l(hit);
  }
}

function qaHit(callId: string, o: Partial<NewQaHit> = {}): NewQaHit {
  return { callId, flow: 'collections', ruleSet: 'bank', ruleId: 'no-threats', ruleType: 'keyword', severity: 'critical', score: 30, leg: 'caller', text: '我要投诉', atMs: 5200, live: true, at: new Date().toISOString(), ...o };
}

const call = (callId: string): ObservedCall => ({ callId, flow: 'collections', lang: 'zh', direction: 'outbound', pbx: 'asterisk', from: '4008001234', to: '13800138000' });

/** A conversation on the audio clock: greeting, the caller cuts in, a final, the dialog's reading, the answer. */
function playConversation(feed: LiveFeed, qa: FakeQa, callId: string): void {
  feed.callStarted(call(callId));
  feed.event(callId, { type: 'bot', text: '您好，这里是某某银行，请问是张三先生吗？', atMs: 0, bargeIn: true });
  feed.event(callId, { type: 'botAudioStart', atMs: 120 });
  feed.event(callId, { type: 'speechStart', atMs: 1500 });
  feed.event(callId, { type: 'partial', text: '是', atMs: 1700 });
  feed.event(callId, { type: 'bargeIn', atMs: 1720, heardMs: 1600, stopMs: 40, promptMs: 3200 });
  feed.event(callId, { type: 'partial', text: '是我', atMs: 1900 });
  feed.event(callId, { type: 'final', text: '是我，电话13800138000', speechStartMs: 1500, speechEndMs: 2600, atMs: 3000, earlyEndpoint: false, confidence: 0.91 });
  feed.event(callId, { type: 'understood', atMs: 3010, seq: 1, speechStartMs: 1500, intent: 'yes', confidence: 0.88, slots: { digits: '13800138000' }, emotion: { label: 'neutral', score: 0 } });
  qa.emit(qaHit(callId));
  feed.event(callId, { type: 'bot', text: '好的，再见。', atMs: 3050, bargeIn: true });
  feed.event(callId, { type: 'botAudioStart', atMs: 3300, latencyMs: 310 });
  feed.event(callId, { type: 'botAudioEnd', atMs: 4300 });
  feed.event(callId, { type: 'end', atMs: 4400, disposition: 'confirmed', by: 'bot' });
}

test('a subscriber gets the call in order: start, both legs, what the caller heard, intent, QA hit, latency, end', async () => {
  const feed = new LiveFeed({ log });
  const qa = new FakeQa();
  feed.followQa(qa);
  const all = new RecordingSink();
  feed.subscribe({ masked: false, sink: all });
  const callId = newCallId();
  playConversation(feed, qa, callId);
  await feed.callEnded(callId, { disposition: 'confirmed', endedBy: 'bot' });

  assert.equal(all.types(), [
    'snapshot',
    'call.started',
    'bot',
    'bot.spoken',
    'speech.start',
    'partial',
    'bot.heard',
    'partial',
    'final',
    'understood',
    'qa.hit',
    'bot',
    'bot.spoken',
    'bot.heard',
    'call.ended',
  ]);
  const seqs = all.messages.map((m) => m.seq);
  assert.equal(seqs, [...seqs].sort((a, b) => a - b), 'seq increases');
  assert.is(new Set(seqs).size, seqs.length);
  const byType = (type: string) => all.messages.filter((m) => m.type === type) as (LiveMessage & Record<string, unknown>)[];
  // The greeting was cut at half its length: the caller heard about the first half of its characters.
  const [cut, whole] = byType('bot.heard');
  assert.is(cut!['cut'], true);
  assert.is(cut!['heardMs'], 1600);
  assert.is(cut!['heardText'], '您好，这里是某某银行');
  assert.is(cut!['text'], '您好，这里是某某银行，请问是张三先生吗？');
  assert.is(whole!['cut'], false);
  assert.is(whole!['heardText'], '好的，再见。');
  assert.is(byType('bot.spoken')[1]!['latencyMs'], 310);
  assert.is(byType('understood')[0]!['intent'], 'yes');
  const hit = byType('qa.hit')[0]!;
  assert.is(hit.callId, callId);
  assert.is((hit['hit'] as NewQaHit).ruleId, 'no-threats');
  assert.not.ok('callId' in (hit['hit'] as object), 'the hit does not repeat its call id inside the body');
  assert.is(byType('call.ended')[0]!['disposition'], 'confirmed');
  assert.is(all.closed, undefined, 'the whole-node feed stays open after a call ends');
  assert.not.ok(feed.isLive(callId));
});

test('numbers are masked per subscriber: masked readers see 138****8000, call ids stay whole', async () => {
  const feed = new LiveFeed({ log });
  const qa = new FakeQa();
  feed.followQa(qa);
  const masked = new RecordingSink();
  const clear = new RecordingSink();
  feed.subscribe({ masked: true, sink: masked });
  feed.subscribe({ masked: false, sink: clear });
  // A call id whose first group is all digits: masking must not touch it.
  const callId = newCallId(0x0193_1234_5678);
  assert.match(callId, /^01931234-5678-/);
  playConversation(feed, qa, callId);

  const text = (sink: RecordingSink) => JSON.stringify(sink.messages);
  assert.not.match(text(masked), /13800138000/);
  assert.match(text(masked), /138\*\*\*\*8000/);
  assert.match(text(clear), /13800138000/);
  for (const m of masked.messages.slice(1)) assert.is(m.callId, callId);
  const started = masked.messages.find((m) => m.type === 'call.started') as LiveMessage & { call: { to: string; from: string } };
  assert.is(started.call.to, '138****8000');
  assert.is(started.call.from, '******1234');
  const understood = masked.messages.find((m) => m.type === 'understood') as LiveMessage & { slots: { digits: string } };
  assert.is(understood.slots.digits, '138****8000');

  // A late whole-node subscriber's snapshot is keyed by call id and masked too.
  const late = new RecordingSink();
  feed.subscribe({ masked: true, sink: late });
  const snapshot = late.messages[0] as LiveMessage & { calls: Record<string, { to: string }> };
  assert.is(snapshot.type, 'snapshot');
  assert.is(snapshot.calls[callId]!.to, '138****8000');
});

test('a subscriber to one call gets its messages so far, then live, and is closed after its end', async () => {
  const feed = new LiveFeed({ log });
  const qa = new FakeQa();
  feed.followQa(qa);
  const callId = newCallId();
  const other = newCallId();
  feed.callStarted(call(other));
  playConversation(feed, qa, callId);
  const one = new RecordingSink();
  feed.subscribe({ callId, masked: false, sink: one });
  // The backlog keeps everything but partials (they say nothing the final does not).
  assert.equal(one.types(), ['call.started', 'bot', 'bot.spoken', 'bot.heard', 'final', 'understood', 'qa.hit', 'bot', 'bot.spoken', 'bot.heard']);
  feed.event(other, { type: 'final', text: '别的电话', speechStartMs: 0, speechEndMs: 500, atMs: 900, earlyEndpoint: false });
  qa.emit(qaHit(callId, { ruleId: 'end-of-call', live: false }));
  await feed.callEnded(callId, { disposition: 'confirmed', endedBy: 'bot' });
  assert.equal(one.types().slice(-2), ['qa.hit', 'call.ended']);
  assert.ok(one.messages.every((m) => m.callId === callId), 'only its own call');
  assert.is(one.closed, 'ended');
  assert.is(feed.subscriberCount, 0);
});

test('combined observers: the feed sees an event before QA, and QA ends its end-of-call run before the feed ends the call', async () => {
  const feed = new LiveFeed({ log });
  const qa = new FakeQa();
  feed.followQa(qa);
  const callId = newCallId();
  // A QA observer whose end-of-call run finds a hit only after some asynchronous work (storing, as the real one).
  const qaObserver: CallObserver = {
    callStarted: () => undefined,
    // QA's live hit on a final: found while the final is being handed round.
    event: (id, e) => {
      if (e.type === 'final') qa.emit(qaHit(id));
    },
    callEnded: async (id) => {
      await new Promise((r) => setImmediate(r));
      qa.emit(qaHit(id, { ruleId: 'missing-disclosure', live: false, leg: undefined }));
    },
  };
  const observer = combineObservers(feed, qaObserver)!;
  const sink = new RecordingSink();
  feed.subscribe({ callId, masked: true, sink });
  observer.callStarted(call(callId));
  observer.event(callId, { type: 'final', text: '我要投诉', speechStartMs: 5000, speechEndMs: 5800, atMs: 6000, earlyEndpoint: false });
  await observer.callEnded(callId, { disposition: 'completed', endedBy: 'caller' });
  assert.equal(sink.types(), ['call.started', 'final', 'qa.hit', 'qa.hit', 'call.ended']);
  assert.equal(sink.messages.filter((m) => m.type === 'qa.hit').map((m) => (m as LiveMessage & { hit: NewQaHit }).hit.ruleId), ['no-threats', 'missing-disclosure']);
});

test('a slow consumer: partials are dropped (counted, with a gap notice), then it is closed; others are not held up', async () => {
  const registry = new Registry();
  const feed = new LiveFeed({ log, registry, maxQueued: 3, maxInFlight: 1 });
  const slow = new RecordingSink(false);
  const fast = new RecordingSink();
  const slowSubscription = feed.subscribe({ masked: true, sink: slow });
  feed.subscribe({ masked: true, sink: fast });
  const callId = newCallId();
  feed.callStarted(call(callId)); // slow: snapshot in flight, call.started queued
  for (let i = 0; i < 5; i++) feed.event(callId, { type: 'partial', text: `第${i}个`, atMs: 100 * i });
  // Queue: call.started + 2 partials, then partials push out the oldest partial: 3 dropped so far.
  assert.is(slow.messages.length, 1);
  slow.ack(); // the snapshot is out: the next message goes, preceded by a notice of what was dropped
  assert.equal(slow.types(), ['snapshot', 'gap', 'call.started']);
  assert.is((slow.messages[1] as LiveMessage & { dropped: number }).dropped, 3);
  slow.ack();
  slow.ack();
  assert.equal(slow.types().slice(3), ['partial']);
  assert.is((slow.messages[3] as LiveMessage & { text: string }).text, '第3个');

  // Finals are never dropped: the last partial goes, and once the queue holds only finals the reader is closed.
  let finals = 0;
  for (; finals < 10 && !slow.closed; finals++) feed.event(callId, { type: 'final', text: `回答${finals}`, speechStartMs: 0, speechEndMs: 10, atMs: 1000 + finals, earlyEndpoint: false });
  assert.is(slow.closed, 'slow_consumer');
  assert.is(finals, 4, 'queue of 3: the partial made room for one final, the 4th found no room');
  assert.is(slowSubscription.dropped, 4);
  assert.ok(slowSubscription.closed);
  assert.is(feed.subscriberCount, 1);
  // The fast reader was not held up and got everything.
  assert.is(fast.messages.filter((m) => m.type === 'partial').length, 5);
  assert.is(fast.messages.filter((m) => m.type === 'final').length, 4);
  assert.is(fast.closed, undefined);
  const metrics = await registry.metrics();
  assert.match(metrics, /callpilot_live_dropped_messages_total 4/);
  assert.match(metrics, /callpilot_live_closed_subscribers_total\{reason="slow_consumer"\} 1/);
  assert.match(metrics, /callpilot_live_subscribers 1/);
});

test('a turn the caller went on with after a pause is sent as turn.continued, its words masked for a masked reader', async () => {
  const feed = new LiveFeed({ log });
  const plain = new RecordingSink();
  const masked = new RecordingSink();
  feed.subscribe({ masked: false, sink: plain });
  feed.subscribe({ masked: true, sink: masked });
  const callId = newCallId();
  feed.callStarted(call(callId));
  feed.event(callId, { type: 'turnContinued', atMs: 4200, seq: 2, text: '是的，哦不对，我的号码是13800138000' });
  await feed.callEnded(callId, { disposition: 'done', endedBy: 'bot' });
  const of = (sink: RecordingSink) => sink.messages.find((m) => m.type === 'turn.continued') as (LiveMessage & Record<string, unknown>) | undefined;
  assert.equal([of(plain)?.['turn'], of(plain)?.['text'], of(plain)?.['atMs']], [2, '是的，哦不对，我的号码是13800138000', 4200]);
  const maskedText = String(of(masked)?.['text']);
  assert.not.ok(maskedText.includes('13800138000'), maskedText);
  assert.ok(maskedText.startsWith('是的，哦不对'), maskedText);
});

test.run();
