import { MediaWebSocketClient, type MediaStartRequest } from '../../media/index.ts';
import { FRAME_MS, samplesPerFrame } from '../../media/index.ts';
import { LineNoise } from './line-noise.ts';
import { LineEcho, type LineEchoOptions } from './line-echo.ts';

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
  /** API token (admin, operator or pbx) for the upgrade. */
  token?: string;
  start: MediaStartRequest;
  turns: CallerTurn[];
  /** After the last turn, hang up once the bot has been quiet this long (default 3000 ms). */
  hangupAfterQuietMs?: number;
  /** Give up on the call after this long (default 120 s). */
  maxCallMs?: number;
  onNotice?: (notice: Record<string, unknown>, atMs: number) => void;
  /**
   * Background noise mixed into everything the phone sends, dBFS (default -60, a quiet line); `null` sends
   * digital silence between turns, which no real line does and which makes VADs behave unlike on real calls.
   */
  lineNoiseDbfs?: number | null;
  /** The bot's audio returned on the caller side (a line without echo cancelling); none by default. */
  echo?: LineEchoOptions;
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
  /**
   * The bot began a new stretch of audio while this turn was still being spoken (inside one of its pauses, or
   * over its words): ms after the caller's onset. A turn with pauses that gets this was cut off.
   */
  botStartedDuringTurnMs?: number;
}

/** One stretch of bot audio as it arrived on the wire (ms, on performance.now()). */
export interface BotBurst {
  startAt: number;
  lastAt: number;
}

export interface SimulatedCallReport {
  callId: string;
  turns: TurnMeasurement[];
  /** Every stretch of bot audio, in order: lets callers measure against speech they know the timing of. */
  botBursts: BotBurst[];
  /** When the call was connected (ms, on performance.now()); turns and bursts are on the same clock. */
  connectedAt: number;
  botFrames: number;
  endReason: string;
  durationMs: number;
}

/** A caller waits at least this long after the bot's last frame before answering (a next prompt may follow at once). */
const BOT_QUIET_MS = 300;
/**
 * callpilot sends a mark right after the last frame of each prompt and `clear` when it cuts one: those say when a
 * prompt ended. A gap in frames is taken for the end only after this long, because on a busy machine bot frames can
 * stall for more than BOT_QUIET_MS mid-prompt, and a caller who took the stall for the end would talk over the rest.
 */
const BOT_STALL_MS = 2000;
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
  const noise = new LineNoise(opts.lineNoiseDbfs === undefined ? -60 : opts.lineNoiseDbfs, frameSamples);
  const echo = opts.echo ? new LineEcho(opts.echo, frameSamples) : undefined;
  const measurements: TurnMeasurement[] = [];
  let botFrames = 0;
  let lastBotFrameAt = -Infinity;
  let promptStartAt = -Infinity;
  let promptsStarted = 0;
  /**
   * Each stretch of bot audio (a prompt, or what was played of it): first and last frame arrival. A `clear`,
   * a prompt-end mark or BOT_STALL_MS of silence ends one. Turns are measured against these, not against "the latest frame", so
   * that a prompt still playing when the caller stops is neither taken for the reply nor for a stop.
   */
  const bursts: BotBurst[] = [];
  /** A `clear` or a mark came after the last bot frame: the prompt has ended. */
  let clearedSinceFrame = false;
  let endReason = '';
  let ended = false;

  client.on('clear', () => {
    clearedSinceFrame = true;
  });
  client.on('mark', () => {
    clearedSinceFrame = true;
  });
  client.on('botFrame', (pcm, at) => {
    botFrames++;
    echo?.heard(pcm, at);
    if (clearedSinceFrame || at - lastBotFrameAt > BOT_STALL_MS) {
      promptStartAt = at;
      promptsStarted++;
      bursts.push({ startAt: at, lastAt: at });
    } else bursts[bursts.length - 1]!.lastAt = at;
    clearedSinceFrame = false;
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
  const callId = await client.connect(opts.url, opts.start, { token: opts.token });
  const connectedAt = performance.now();
  let turnIndex = 0;
  let phase: Phase = opts.turns.length > 0 ? 'waiting' : 'done';
  let offset = 0;
  /** Prompts started when the current turn began waiting: it reacts to the next one. */
  let promptsAtWait = 0;
  let current: TurnMeasurement | undefined;
  /** Bursts already begun at the caller's onset: the reply is the first one after them. */
  let burstsAtOnset = 0;
  /** The burst the caller talked over (bargeIn turns), -1 if the bot was quiet at the onset. */
  let interrupted = -1;
  /**
   * bargeIn turns: the talked-over burst has ended once a later burst began, a `clear` or mark came, or the bot has
   * been quiet BOT_STALL_MS (a shorter gap can be a stall mid-prompt). Its last frame is the stop.
   */
  function measureStop(m: TurnMeasurement, now: number): void {
    if (m.mode !== 'bargeIn' || m.bargeInStopMs !== undefined) return;
    const b = bursts[interrupted];
    if (!b) return; // the bot was quiet at the onset: nothing to stop
    const over = bursts.length > interrupted + 1 || (clearedSinceFrame && interrupted === bursts.length - 1) || now - b.lastAt >= BOT_STALL_MS;
    if (over) m.bargeInStopMs = Math.max(0, b.lastAt - m.speechStartAt);
  }
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
    const botTalking = !clearedSinceFrame && now - lastBotFrameAt < BOT_STALL_MS;
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
        burstsAtOnset = bursts.length;
        interrupted = botTalking ? bursts.length - 1 : -1;
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
      if (current.botStartedDuringTurnMs === undefined && bursts.length > burstsAtOnset) {
        current.botStartedDuringTurnMs = Math.max(0, bursts[burstsAtOnset]!.startAt - current.speechStartAt);
      }
      measureStop(current, now);
      if (offset >= turn.pcm.length) {
        current.speechEndAt = now;
        phase = 'awaitingReply';
      }
    } else if (phase === 'awaitingReply' && current) {
      measureStop(current, now);
      const reply = bursts[burstsAtOnset];
      // A reply that began while the caller was still talking counts as 0 ms.
      if (reply && current.latencyMs === undefined) current.latencyMs = Math.max(0, reply.startAt - current.speechEndAt);
      const stopKnown = current.mode !== 'bargeIn' || current.bargeInStopMs !== undefined || interrupted < 0;
      if ((current.latencyMs !== undefined && stopKnown) || now - current.speechEndAt > REPLY_TIMEOUT_MS) {
        measurements.push(current);
        current = undefined;
        turnIndex++;
        promptsAtWait = promptsStarted - (lastBotFrameAt > 0 && botTalking ? 1 : 0);
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
    client.sendFrame(noise.mix(echo ? echo.mix(frame, now) : frame));
    tick++;
    const wait = began + tick * FRAME_MS - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  if (current) measurements.push(current);
  await waitForEnd(client, () => ended, 3000);
  await client.close();
  return { callId, turns: measurements, botBursts: bursts, connectedAt, botFrames, endReason, durationMs: performance.now() - began };
}

async function waitForEnd(client: MediaWebSocketClient, ended: () => boolean, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (!ended() && client.connected && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
}
