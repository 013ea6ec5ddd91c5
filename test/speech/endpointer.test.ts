import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Endpointer } from '../../src/speech/endpointer.ts';
import { ExpectedAnswers, normalizeForMatch } from '../../src/speech/endpointer-match.ts';

const opts = { trailingSilenceMs: 700, expectedTrailingSilenceMs: 200, maxUtteranceMs: 5000 };

/** Polls every 20 ms from `from` to `to`; returns the first decision. */
function pollUntil(ep: Endpointer, from: number, to: number) {
  for (let t = from; t <= to; t += 20) {
    const d = ep.poll(t);
    if (d) return d;
  }
  return undefined;
}

test('normalization strips punctuation, fillers, case and spaces but those between Latin words', () => {
  assert.is(normalizeForMatch('嗯，是的。'), '是的');
  assert.is(normalizeForMatch('那个 我已经 还款了！'), '我已经还款了');
  assert.is(normalizeForMatch('Uh, YES please'), 'yes please');
  assert.is(normalizeForMatch('um... talk to an agent?'), 'talk to an agent');
  assert.is(normalizeForMatch('我想 talk to 人工， ok'), '我想talk to人工ok');
  // A filler inside a word is not a filler.
  assert.is(normalizeForMatch('Hum'), 'hum');
});

test('expected answers match when the transcript equals or contains a phrase', () => {
  const ex = new ExpectedAnswers();
  ex.set(['是的', 'talk to an agent', '  ', '']);
  assert.is(ex.size, 2);
  assert.ok(ex.matches('嗯是的'));
  assert.ok(ex.matches('I want to TALK to an agent'));
  assert.not.ok(ex.matches('不是'));
  assert.not.ok(ex.matches('嗯'));
  ex.set([]);
  assert.not.ok(ex.matches('是的'));
});

test('turn ends after the trailing silence counted from the real speech end', () => {
  const ep = new Endpointer(opts);
  assert.ok(ep.speechStarted(1000));
  ep.speechEnded(2000); // VAD reports it late, at 2120
  const d = pollUntil(ep, 2120, 4000);
  assert.ok(d);
  assert.is(d!.reason, 'silence');
  assert.is(d!.speechStartMs, 1000);
  assert.is(d!.speechEndMs, 2000);
  assert.is(d!.atMs, 2700);
  assert.not.ok(ep.inUtterance);
});

test('a pause shorter than the trailing silence keeps one utterance', () => {
  const ep = new Endpointer(opts);
  ep.speechStarted(1000);
  ep.speechEnded(1500);
  assert.is(pollUntil(ep, 1500, 1900), undefined);
  assert.not.ok(ep.speechStarted(1950), 'resumption is not a new utterance');
  ep.speechEnded(2500);
  const d = pollUntil(ep, 2500, 4000);
  assert.is(d!.speechStartMs, 1000);
  assert.is(d!.speechEndMs, 2500);
  assert.is(d!.atMs, 3200);
});

test('a matching partial shortens the trailing silence', () => {
  const ep = new Endpointer(opts);
  ep.setExpected(['是的', '不是']);
  ep.speechStarted(1000);
  ep.partial('嗯是的');
  ep.speechEnded(1600);
  const d = pollUntil(ep, 1600, 3000);
  assert.is(d!.reason, 'expected');
  assert.is(d!.atMs, 1800);
});

test('a non-matching partial waits the full silence; a late match ends it at once', () => {
  const ep = new Endpointer(opts);
  ep.setExpected(['下周还']);
  ep.speechStarted(1000);
  ep.partial('下周');
  ep.speechEnded(1600);
  assert.is(pollUntil(ep, 1600, 1900), undefined);
  ep.partial('下周还');
  const d = ep.poll(1920);
  assert.is(d!.reason, 'expected');
  assert.is(d!.atMs, 1920);
});

test('words the VAD missed: a transcript growing well after the speech end restarts the silence and waits the base', () => {
  const dynamic = { ...opts, mode: 'dynamic' as const, floorMs: 180, capMs: 1200 };
  const ep = new Endpointer(dynamic);
  ep.setContext({ expects: 'yesNo', phrases: ['是的', '是'] });
  ep.speechStarted(1000);
  ep.partial('嗯', 1300);
  ep.speechEnded(1300);
  // The VAD never hears the 是的 spoken from 2100; the ASR does, and its partial grows at 2400.
  assert.is(pollUntil(ep, 1320, 2380), undefined);
  ep.partial('嗯是', 2400);
  assert.is(pollUntil(ep, 2400, 3080), undefined, 'an expected answer heard only by the ASR does not take the 200 ms wait');
  const d = pollUntil(ep, 3080, 4000);
  assert.ok(d);
  assert.is(d!.speechEndMs, 2400);
  assert.is(d!.atMs, 3100);
  assert.ok(d!.cues!.includes('asrOnly'), JSON.stringify(d));
  assert.is(d!.reason, 'silence', 'not an early end: the expected answer did not cut the wait short');
});

test('words the ASR adds within its usual lag after the speech end, or fillers it adds later, do not extend the turn', () => {
  const ep = new Endpointer(opts);
  ep.setExpected(['是的']);
  ep.speechStarted(1000);
  ep.partial('是', 1500);
  ep.speechEnded(1600);
  ep.partial('是的', 1760);
  assert.is(pollUntil(ep, 1620, 2000)!.atMs, 1800);

  const late = new Endpointer(opts);
  late.speechStarted(1000);
  late.partial('我下周', 1500);
  late.speechEnded(1600);
  late.partial('我下周嗯', 2300);
  assert.is(pollUntil(late, 1620, 3000)!.atMs, 2300, 'a filler is not content');
});

test('a sound the VAD did not call speech restarts the pause, once per pause; the VAD hearing speech re-arms it', () => {
  const dynamic = { ...opts, mode: 'dynamic' as const, floorMs: 180, capMs: 1200 };
  const ep = new Endpointer(dynamic);
  ep.setContext({ expects: 'yesNo', phrases: ['是的'] });
  ep.speechStarted(1000);
  ep.partial('嗯', 1300);
  ep.speechEnded(1400);
  ep.soundInPause(1350, 1500); // began before the voice ended: its tail, not a new sound
  ep.soundInPause(2000, 2150);
  ep.soundInPause(2600, 2750); // a second one in the same pause does not restart it again
  assert.is(pollUntil(ep, 1420, 3320), undefined, 'the cap runs from the sound (2150 ms), not the voice (1400 ms)');
  const d = pollUntil(ep, 3340, 4000)!;
  assert.is(d.atMs, 3360);
  assert.is(d.speechEndMs, 2150);
  assert.ok(d.cues!.includes('soundInPause'), JSON.stringify(d.cues));

  const again = new Endpointer(dynamic);
  again.speechStarted(1000);
  again.speechEnded(1400);
  again.soundInPause(1800, 1950);
  again.speechStarted(2300); // the VAD hears the caller again
  again.soundInPause(2400, 2500); // while speaking: the VAD's own end will count
  again.speechEnded(2700);
  again.soundInPause(3000, 3150);
  assert.is(pollUntil(again, 2720, 4000)?.speechEndMs, undefined, 'the new pause was restarted by its own sound');
  assert.is(pollUntil(again, 4020, 4400)!.speechEndMs, 3150);
});

test('the sound that restarted the pause, grown by a syllable after a dip, moves the restart to its end', () => {
  const ep = new Endpointer({ ...opts, mode: 'dynamic' as const, floorMs: 180, capMs: 1200 });
  ep.setContext({ expects: 'yesNo', phrases: ['是的'] });
  ep.speechStarted(1000);
  ep.partial('嗯', 1300);
  ep.speechEnded(1400);
  ep.soundInPause(2000, 2120); // 那 of 那个
  ep.soundInPause(2000, 2400); // 个, after a 40 ms dip: the same sound
  ep.soundInPause(2700, 2850); // another sound in the same pause still does not restart it
  assert.is(pollUntil(ep, 1420, 3580), undefined, 'the cap runs from the end of the whole word (2400 ms)');
  const d = pollUntil(ep, 3600, 4000)!;
  assert.is(d.speechEndMs, 2400);
  assert.is(d.atMs, 3600);
});

test('once the VAD hears the resumed voice, its end is the one that counts', () => {
  const ep = new Endpointer(opts);
  ep.speechStarted(1000);
  ep.partial('我想', 1400);
  ep.speechEnded(1400);
  ep.partial('我想问', 2000);
  ep.speechStarted(1900);
  ep.speechEnded(2600);
  assert.is(pollUntil(ep, 2600, 4000)!.atMs, 3300);
});

test('maxUtteranceMs cuts a caller who never stops', () => {
  const ep = new Endpointer(opts);
  ep.speechStarted(0);
  const d = pollUntil(ep, 0, 10000);
  assert.is(d!.reason, 'maxUtterance');
  assert.is(d!.atMs, 5000);
  assert.is(d!.speechEndMs, 5000);
});

test('no decision without speech', () => {
  const ep = new Endpointer(opts);
  assert.is(pollUntil(ep, 0, 10000), undefined);
  ep.partial('是的');
  assert.is(pollUntil(ep, 0, 10000), undefined);
});

test('dynamic mode, VAD still in speech: an expected answer ends on the level; other waits, or no level, wait for the VAD', () => {
  const dyn = { ...opts, mode: 'dynamic' as const };
  let voiceEnd: number | undefined = 1600;
  let prosody: 'falling' | 'rising' = 'falling';
  const cues = { prosody: () => prosody, voiceEndMs: () => voiceEnd };
  const ep = new Endpointer(dyn, cues);
  ep.setExpected(['是的', 'yes']);
  ep.speechStarted(1000);
  ep.partial('是的');
  const d = pollUntil(ep, 1600, 3000);
  assert.is(d!.reason, 'expected');
  assert.is(d!.speechEndMs, 1600);
  assert.is(d!.atMs, 1800);
  assert.ok(d!.cues!.includes('levelEnd'));

  // An English "yes," said rising waits as a held sentence (950 ms): not a wait the level may end.
  prosody = 'rising';
  ep.speechStarted(4000);
  ep.partial('yes');
  voiceEnd = 4400;
  assert.is(pollUntil(ep, 4400, 6000), undefined, 'no decision while the VAD is in speech');
  ep.speechEnded(4400);
  const rising = pollUntil(ep, 4400, 6000);
  assert.is(rising!.waitMs, 950);
  assert.is(rising!.atMs, 5360, 'at the first 20 ms poll 950 ms after the end');
  assert.not.ok(rising!.cues!.includes('levelEnd'));

  // No partial that matches, or no level known: nothing before the VAD's end.
  prosody = 'falling';
  ep.speechStarted(7000);
  ep.partial('我想');
  voiceEnd = 7400;
  assert.is(pollUntil(ep, 7400, 9000), undefined);
  ep.speechEnded(7400);
  assert.ok(pollUntil(ep, 7400, 9000));
  ep.speechStarted(10000);
  ep.partial('是的');
  voiceEnd = undefined;
  assert.is(pollUntil(ep, 10400, 12000), undefined);
});

test.run();
