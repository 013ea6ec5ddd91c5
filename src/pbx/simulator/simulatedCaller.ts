import { MediaWebSocketClient, type MediaStartRequest } from '../../media/index.ts';
import { FRAME_MS, samplesPerFrame } from '../../media/index.ts';

/** One thing the simulated caller says, and when. */
export interface CallerTurn {
  /** Caller speech, PCM16 at the call's rate, trimmed so that it starts and ends with speech. */
  pcm: Int16Array;
  /** What is said (for reports; the bot must find it out by itself). */
  text: string;
  /**
   * `afterPrompt`: wait until the bot has finished speaking, then pause `pauseMs` and speak.
   * `bargeIn`: start speaking `bargeInAfterMs` after the bot starts its next prompt, over it.
   * `atStart`: speak as soon as the call is up, whatever the bot does (a recording played into the call).
   */
  mode: 'afterPrompt' | 'bargeIn' | 'atStart';
  pauseMs?: number;
  bargeInAfterMs?: number;
}

export interface SimulatedCallOptions {
  /** ws://host:port/media */
  url: string;
  start: MediaStartRequest;
  turns: CallerTurn[];
  /** After the last turn, hang up once the bot has been quiet this long (default 3000 ms). */
  hangupAfterQuietMs?: number;
  /** Give up on the call after this long (default 120 s). */
  maxCallMs?: number;
  onNotice?: (notice: Record<string, unknown>, atMs: number) => void;
}

/** What the caller measured on the wire for one turn (ms, on performance.now()). */
export interface TurnMeasurement {
  text: string;
  mode: CallerTurn['mode'];
  speechStartAt: number;
  speechEndAt: number;
  /** End of caller speech -> first bot frame after it. */
  latencyMs?: number;
  /** bargeIn turns: caller onset -> last bot frame of the interrupted prompt. */
  bargeInStopMs?: number;
}

export interface SimulatedCallReport {
  callId: string;
  turns: TurnMeasurement[];
  botFrames: number;
  endReason: string;
  durationMs: number;
}

/** Bot frames arrive every 20 ms while it talks; this much silence means the prompt ended (or was cut). */
const BOT_QUIET_MS = 300;
/** A gap this long after a barge-in onset means the bot stopped. */
const BOT_STOPPED_GAP_MS = 100;
/** No reply within this long after a turn: measure nothing and go on. */
const REPLY_TIMEOUT_MS = 8000;

type Phase = 'waiting' | 'speaking' | 'awaitingReply' | 'done';

/**
 * A phone that calls the bot through callpilot's media WebSocket, speaks its turns in real time when the
 * conversation calls for them (after a prompt, or over it), and measures latency and barge-in on the wire.
 */
export async function runSimulatedCall(opts: SimulatedCallOptions): Promise<SimulatedCallReport> {
  const client = new MediaWebSocketClient();
  const rate = opts.start.sampleRate;
  const frameSamples = samplesPerFrame(rate);
  const silence = new Int16Array(frameSamples);
  const measurements: TurnMeasurement[] = [];
  let botFrames = 0;
  let lastBotFrameAt = -Infinity;
  let promptStartAt = -Infinity;
  let promptsStarted = 0;
  let endReason = '';
  let ended = false;

  client.on('botFrame', (_pcm, at) => {
    botFrames++;
    if (at - lastBotFrameAt > BOT_QUIET_MS) {
      promptStartAt = at;
      promptsStarted++;
    }
    lastBotFrameAt = at;
  });
  client.on('notice', (n) => opts.onNotice?.(n, performance.now()));
  client.on('end', (reason) => {
    endReason = reason;
    ended = true;
  });
  client.on('close', (code, reason) => {
    if (!endReason) endReason = `socket closed ${code} ${reason}`;
    ended = true;
  });

  const began = performance.now();
  const callId = await client.connect(opts.url, opts.start);
  let turnIndex = 0;
  let phase: Phase = opts.turns.length > 0 ? 'waiting' : 'done';
  let offset = 0;
  /** Prompts started when the current turn began waiting: it reacts to the next one. */
  let promptsAtWait = 0;
  let current: TurnMeasurement | undefined;
  let lastBotBeforeStop = -Infinity;
  let quietSince = performance.now();

  const maxCallMs = opts.maxCallMs ?? 120_000;
  const hangupAfterQuietMs = opts.hangupAfterQuietMs ?? 3000;
  let tick = 0;
  while (!ended && client.connected) {
    const now = performance.now();
    if (now - began > maxCallMs) {
      endReason = 'simulator timeout';
      break;
    }
    const botTalking = now - lastBotFrameAt < BOT_QUIET_MS;
    const turn = opts.turns[turnIndex];
    let frame: Int16Array = silence;

    if (phase === 'waiting' && turn) {
      const newPrompt = promptsStarted > promptsAtWait;
      const go =
        turn.mode === 'atStart'
          ? true
          : turn.mode === 'bargeIn'
          ? newPrompt && botTalking && now - promptStartAt >= (turn.bargeInAfterMs ?? 500)
          : newPrompt && !botTalking && now - lastBotFrameAt >= Math.max(BOT_QUIET_MS, turn.pauseMs ?? 0);
      if (go) {
        phase = 'speaking';
        offset = 0;
        current = { text: turn.text, mode: turn.mode, speechStartAt: now, speechEndAt: 0 };
        lastBotBeforeStop = lastBotFrameAt;
      }
    }
    if (phase === 'speaking' && turn && current) {
      const end = Math.min(offset + frameSamples, turn.pcm.length);
      if (end - offset === frameSamples) frame = turn.pcm.subarray(offset, end);
      else {
        frame = new Int16Array(frameSamples);
        frame.set(turn.pcm.subarray(offset, end));
      }
      offset = end;
      if (turn.mode === 'bargeIn' && current.bargeInStopMs === undefined) {
        if (lastBotFrameAt > lastBotBeforeStop) lastBotBeforeStop = lastBotFrameAt;
        else if (now - lastBotBeforeStop >= BOT_STOPPED_GAP_MS) current.bargeInStopMs = Math.max(0, lastBotBeforeStop - current.speechStartAt);
      }
      if (offset >= turn.pcm.length) {
        current.speechEndAt = now;
        phase = 'awaitingReply';
      }
    } else if (phase === 'awaitingReply' && current) {
      if (current.mode === 'bargeIn' && current.bargeInStopMs === undefined && now - lastBotBeforeStop >= BOT_STOPPED_GAP_MS) {
        current.bargeInStopMs = Math.max(0, lastBotBeforeStop - current.speechStartAt);
      }
      if (lastBotFrameAt > current.speechEndAt) {
        current.latencyMs = Math.max(0, firstFrameAfter(current.speechEndAt, lastBotFrameAt, promptStartAt) - current.speechEndAt);
      }
      if (current.latencyMs !== undefined || now - current.speechEndAt > REPLY_TIMEOUT_MS) {
        measurements.push(current);
        current = undefined;
        turnIndex++;
        promptsAtWait = promptsStarted - (lastBotFrameAt > 0 && now - lastBotFrameAt < BOT_QUIET_MS ? 1 : 0);
        phase = turnIndex < opts.turns.length ? 'waiting' : 'done';
        quietSince = now;
      }
    }
    if (phase === 'done') {
      if (botTalking) quietSince = now;
      else if (now - quietSince >= hangupAfterQuietMs) {
        client.hangup();
        endReason = 'caller hung up';
        break;
      }
    }
    client.sendFrame(frame);
    tick++;
    const wait = began + tick * FRAME_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  if (current) measurements.push(current);
  await waitForEnd(client, () => ended, 3000);
  await client.close();
  return { callId, turns: measurements, botFrames, endReason, durationMs: performance.now() - began };
}

/** The reply's first frame: the prompt start if it began after speech end, else the first frame seen after it. */
function firstFrameAfter(speechEndAt: number, lastBotFrameAt: number, promptStartAt: number): number {
  return promptStartAt > speechEndAt ? promptStartAt : lastBotFrameAt;
}

async function waitForEnd(client: MediaWebSocketClient, ended: () => boolean, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (!ended() && client.connected && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
}
