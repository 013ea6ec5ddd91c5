import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startDemoApp, type DemoApp } from './demo-app.ts';
import { synthesizeCallerTurns } from '../../src/cli/caller-voice.ts';
import type { CallTimelineEvent } from '../../src/dialog/index.ts';
import { runSimulatedCallOnOwnThread } from '../../src/pbx/index.ts';

/*
 * A line that echoes the bot (no echo cancelling in the network: the bot's audio comes back 100 ms late and 10 dB
 * down) through the whole engine: G.711 on the media WebSocket, the echo guard, Silero VAD, the tiny sherpa model,
 * espeak TTS. The greeting's echo starts 100 ms into the call, long before the guard can have learned the path:
 * it must not become a turn, nor keep the bot held (one short hold under load is resumed as echo); the caller's
 * answer after it and a barge-in over the next prompt are heard. Nothing is timed against the wall clock: the assertions use the server's timeline and the store.
 */

/**
 * The call above, on an app with `dialog.bargeIn.cancelEcho` as given, and what must hold with the canceller off or
 * on.
 */
async function echoLineCall(cancelEcho: boolean): Promise<void> {
  const demo: DemoApp = await startDemoApp(`echo-line-${cancelEcho ? 'cancel' : 'plain'}`, { cancelEcho });
  try {
    const [yes, human] = await synthesizeCallerTurns(
      [
        { text: '是的', mode: 'afterPrompt' },
        { text: '转人工', mode: 'bargeIn', bargeInAfterMs: 1500 },
      ],
      'zh',
      8000,
    );
    const events: CallTimelineEvent[] = [];
    const report = await runSimulatedCallOnOwnThread({
      url: demo.mediaUrl,
      token: demo.token,
      start: { codec: 'pcmu', sampleRate: 8000, lang: 'zh', flow: 'demo', from: 'echo-line-test' },
      // As in the turn-taking test: on a loaded machine a gap between the greeting's sentences can pass for its end.
      turns: [{ ...yes!, pauseMs: 1500 }, human!],
      hangupAfterQuietMs: 1500,
      maxCallMs: 60_000,
      lineNoiseDbfs: -55,
      echo: { delayMs: 100, lossDb: 10 },
      onNotice: (notice) => {
        if (notice.event !== 'timeline') return;
        const { event: _e, ...rest } = notice;
        events.push(rest as unknown as CallTimelineEvent);
      },
    });
    // The store is written as the call ends on the server, a little after the phone hung up.
    let call = await demo.app.store.calls.getCall(report.callId);
    for (let i = 0; i < 300 && call?.status !== 'ended'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      call = await demo.app.store.calls.getCall(report.callId);
    }
    const turns = await demo.app.store.calls.listTurns(report.callId);
    const detail = JSON.stringify({ events: events.filter((e) => e.type !== 'partial'), turns: turns.map((t) => [t.callerText, t.botText]) });

    // The greeting played through its echo to the caller's first word.
    const bots = events.filter((e): e is Extract<CallTimelineEvent, { type: 'bot' }> => e.type === 'bot');
    const offerAt = bots.find((b) => b.text.includes('新的服务'))?.atMs;
    assert.ok(offerAt !== undefined, `the yes was heard and answered with the offer: ${detail}`);
    // On a loaded machine bot and caller frames can reach the server out of step just after the path is learned, and
    // the echo then holds the greeting once: its final shows it followed the path, and the greeting resumes (seen in
    // 1 of 20 runs with one core busy). Never more than that, and never a hold the echo made into a turn.
    const holds = events.filter((e) => e.type === 'bargeIn' && e.atMs < offerAt!);
    const resumes = events.filter((e): e is Extract<CallTimelineEvent, { type: 'resume' }> => e.type === 'resume' && e.atMs < offerAt!);
    assert.ok(holds.length <= 1, `at most one hold on the greeting's echo: ${detail}`);
    assert.ok(resumes.length === holds.length && resumes.every((r) => r.reason === 'echo'), `a hold on the echo resumed as echo: ${detail}`);
    // The echo was never a turn: the caller's two turns are the only ones, in order.
    assert.is(turns.length, 2, detail);
    assert.ok(turns[0]!.callerText.includes('是'), detail);
    // The barge-in over the offer stopped it and was taken as the caller's turn. What the tiny model makes of 转人工
    // under the offer's echo, 10 dB down, varies from run to run (转人工, 说工, 工: it was trained on one talker in
    // noise, not on two talkers), so the words are not asserted.
    assert.ok(turns[1]!.bargeIn, detail);
    assert.ok(report.turns[1]?.bargeInStopMs !== undefined, `the bot stopped under the caller: ${detail}`);
    assert.ok(turns[1]!.callerText.trim() !== '', detail);
    assert.ok(call?.status === 'ended', detail);
  } finally {
    await demo.close();
  }
}

test('on a line echoing the bot 10 dB down, the greeting plays through its own echo, the answer is heard, a barge-in stops the next prompt', () =>
  echoLineCall(false));

test('the same with the echo canceller on (dialog.bargeIn.cancelEcho): the echo is judged the same way', () => echoLineCall(true));

test.run();
