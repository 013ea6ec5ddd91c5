import type { Logger } from 'pino';
import { FRAME_MS, type AudioLeg, type LegCloseReason } from '../media/index.ts';
import type { CallSpeech, FinalTranscript, Speaker } from '../speech/index.ts';
import { EchoCanceller, EchoGuard, OnsetDetector } from '../speech/index.ts';
import { BackchannelMatcher, countSpokenWords, normalizeText } from './backchannel.ts';
import type { DialogConfig } from './config.ts';
import type { CallTimelineEvent } from './timeline.ts';
import type { BotAction, DialogEvent, DialogSession, Lang, TurnInput, TurnUnderstanding } from './types.ts';

export type TurnState = 'listening' | 'callerSpeaking' | 'thinking' | 'botSpeaking' | 'ended';

/** One caller turn and the bot's answer, as stored. */
/** One turn as stored: what the caller did, what the dialog understood of it, what the bot answered and when. */
export interface TurnSummary extends Partial<TurnUnderstanding> {
  seq: number;
  inputKind: TurnInput['kind'];
  callerText: string;
  botText?: string;
  speechStartMs?: number;
  speechEndMs?: number;
  /** End of caller speech -> first bot frame on the wire (ms of wall time). */
  latencyMs?: number;
  bargeIn: boolean;
  heardMs?: number;
  /** The caller went on with turn `continuesSeq` after a pause: this turn's words end it, and its answer replaced that one. */
  continuesSeq?: number;
}

export interface TurnLoopResult {
  disposition: string;
  endedBy: 'caller' | 'bot' | 'transfer' | 'error';
  closeReason?: LegCloseReason;
  transcript: string[];
}

/** What the turn loop may ask of the call beyond its audio. */
export interface CallControl {
  hangup(): Promise<void>;
  transfer(reason: string, notes: string, target?: string): Promise<void>;
}

export interface TurnLoopOptions {
  leg: AudioLeg;
  speech: CallSpeech;
  speaker: Speaker;
  dialog: DialogSession;
  lang: Lang;
  config: Pick<DialogConfig, 'noInputTimeoutMs' | 'unrecognizedSpeechMs' | 'bargeIn'>;
  control: CallControl;
  log: Logger;
  onEvent?: (event: CallTimelineEvent) => void;
  onTurn?: (turn: TurnSummary) => void;
  /** Wall clock in ms; injectable for tests. */
  now?: () => number;
}

/** DTMF digits are collected until '#' or this pause, so multi-digit answers arrive as one input. */
const DTMF_INTER_DIGIT_MS = 700;
/**
 * A tentative barge-in that produces no transcript within this time is taken as noise and the prompt resumes; not
 * while the caller's utterance is still open or being decoded (its final decides).
 */
const HOLD_GIVE_UP_MS = 2500;
/** A pause on loud frames that the VAD does not confirm as speech within this time was noise: resume. */
const HOLD_CONFIRM_MS = 600;
/** A transcript is only taken for echo of the prompt when this long (spoken words: Han characters, Latin words). */
const MIN_ECHO_WORDS_ZH = 5;
const MIN_ECHO_WORDS_EN = 3;
/** Near the start or end of a prompt an acknowledgement is the caller keeping up, never a request to stop. */
const TURN_BOUNDARY_MS = 1200;
/**
 * How long a final of speech let pass on the echo guard's assumption waits for the line to show whether it was echo
 * (the guard learns a path from about a second of bot talk) before it is taken as the caller's turn.
 */
const ASSUMED_ECHO_WAIT_MS = 1200;
/** A final that arrives this long after a resume can still be the speech that caused the hold. */
const LATE_FINAL_MS = 5000;
/**
 * A caller going on with a turn after a pause talks over the start of the bot's answer because he did not wait for
 * it; one who has heard more than this of it is answering it (再说一遍, a question about it).
 */
const CONTINUE_HEARD_MS = 700;

type SpeechInput = Extract<TurnInput, { kind: 'speech' }>;

/** The caller's latest speech turn, which a continuation after a pause extends. */
interface SpeechTurn {
  seq: number;
  speechEndMs: number;
  /** What the dialog was given for it. */
  input: SpeechInput;
}

/**
 * A speech turn the dialog is deciding on, and what the caller said meanwhile (a slow step: a webhook, the LLM):
 * one turn of its own, extended by each final that comes before the decision.
 */
interface Deciding {
  turn: TurnSummary;
  input: SpeechInput;
  /** A speech turn made from finals: it carries its speech's start and end. */
  late?: { turn: TurnSummary; input: SpeechInput };
}

/** A final of speech let pass on the echo guard's assumption, with the prompt it came over and its words. */
interface AssumedFinal {
  p: Prompt;
  e: FinalTranscript;
  text: string;
}

/** A prompt being spoken: its audio is kept so a false barge-in (backchannel, echo, noise) can resume it. */
interface Prompt {
  id: number;
  text: string;
  bargeIn: boolean;
  chunks: Int16Array[];
  playedSamples: number;
  synthDone: boolean;
  /** Paused by a tentative barge-in: synthesis goes on, nothing is played until resume or cancel. */
  held: boolean;
  /** Audio-clock ms when it was held, and whether the VAD has since confirmed speech. */
  heldAtMs: number;
  /** Audio-clock ms of the last resume after a hold (a late final of the held speech may still come). */
  resumedAtMs?: number;
  /** Audio-clock ms of the first hold: speech from then on may be the caller's turn. */
  firstHeldAtMs?: number;
  vadConfirmed: boolean;
  /**
   * Audio-clock ms when the echo guard last let caller sound pass as the bot's echo on its assumption alone (no
   * path learned yet): the final of that speech is the caller's unless the line shows it was echo.
   */
  echoAssumedAtMs?: number;
  cancelled: boolean;
  endMark: string;
  finished: () => void;
  /** The turn whose answer this is, to measure latency on its first frame. */
  turn?: TurnSummary;
  /** The seq of the caller turn this prompt answers (kept after `turn` is handed on). */
  answersSeq?: number;
  /** The hold is the caller going on with the turn this prompt answers (see continuesTurn). */
  continuation: boolean;
  /** Wall time of the end of the caller speech this prompt answers. */
  answersSpeechEndWall?: number;
  firstFramePlayed: boolean;
}

/**
 * One call's conversation loop: listens (VAD/ASR events), asks the dialog, speaks (TTS to the leg), and handles
 * barge-in, backchannels, echo, DTMF and no-input. It owns the call from greeting to hangup.
 */
export class TurnLoop {
  private state: TurnState = 'listening';
  private readonly o: TurnLoopOptions;
  private readonly now: () => number;
  private readonly echo: EchoGuard;
  /** `bargeIn.cancelEcho`: the caller side the VAD and the ASR hear, less the bot's echo. */
  private readonly canceller: EchoCanceller | undefined;
  private readonly onset: OnsetDetector;
  private readonly onsetFrames: number;
  /** Consecutive caller frames in speech that the echo guard found louder than the bot's echo. */
  private overEchoRun = 0;
  private echoPathLogged = false;
  /** A final of speech let pass on the guard's assumption, waiting for the line to show whether it was echo. */
  private assumedFinal: AssumedFinal | undefined;
  private lastSpeechTurn: SpeechTurn | undefined;
  /** Audio-clock ms at which the last prompt played out in full. */
  private lastPromptEndMs: number | undefined;
  private deciding: Deciding | undefined;
  /** The longest pause inside a turn the caller went on after (bargeIn.waitOutCallerPauses). */
  private callerPauseMs: number | undefined;
  private readonly rate: number;
  private readonly backchannels: BackchannelMatcher;
  private prompt: Prompt | undefined;
  private promptSeq = 0;
  private turnSeq = 0;
  private noInputTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private dtmfTimer: NodeJS.Timeout | undefined;
  private dtmfDigits = '';
  /** Wall time at which the last caller frame was pushed, and the audio clock after it: maps audio ms to wall ms. */
  private lastFrameWall = 0;
  private readonly transcript: string[] = [];
  private resolveDone!: (r: TurnLoopResult) => void;
  private readonly done: Promise<TurnLoopResult>;
  private ending: { disposition: string; by: TurnLoopResult['endedBy'] } | undefined;
  private busy: Promise<void> = Promise.resolve();
  /** A branch was taken and its action is queued: actions decided before it are dropped. */
  private redirecting = false;

  constructor(opts: TurnLoopOptions) {
    this.o = opts;
    this.now = opts.now ?? (() => performance.now());
    this.rate = opts.leg.sampleRate;
    this.backchannels = new BackchannelMatcher(opts.config.bargeIn.backchannels);
    this.onsetFrames = Math.max(2, Math.ceil(opts.config.bargeIn.minSpeechMs / 20));
    this.onset = new OnsetDetector({ frames: this.onsetFrames });
    const frameSamples = (this.rate * FRAME_MS) / 1000;
    // The canceller's reference is the bot frame the guard matches with each caller frame.
    this.echo = new EchoGuard(opts.config.bargeIn.cancelEcho ? { frameSamples } : {});
    if (opts.config.bargeIn.cancelEcho) this.canceller = new EchoCanceller({ frameSamples });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get currentState(): TurnState {
    return this.state;
  }

  /** A method, not a field read, so TypeScript does not narrow it away across awaits. */
  private hasEnded(): boolean {
    return this.state === 'ended';
  }

  /** Runs the call until it ends; resolves with how it ended. */
  run(): Promise<TurnLoopResult> {
    const { leg, speech } = this.o;
    leg.on('frame', this.onCallerFrame);
    leg.on('played', this.onBotFrame);
    leg.on('mark', this.onMark);
    leg.on('dtmf', this.onDtmf);
    leg.on('close', this.onLegClose);
    speech.on('speechStart', this.onSpeechStart);
    speech.on('partial', this.onPartial);
    speech.on('speechEnd', this.onSpeechEnd);
    speech.on('final', this.onFinal);
    if (leg.closed) this.onLegClose({ code: 'caller_hangup', detail: 'leg closed before the call started' });
    else this.serialize(async () => this.perform(await this.o.dialog.begin(), undefined));
    return this.done;
  }

  // ---- control from outside (operators over gRPC/API) ------------------------------------------------------

  /**
   * Speaks `text` to the caller as the bot, queued after whatever the dialog is saying now; resolves once it was
   * heard in full or cut by a barge-in. The dialog does not see it (its step and expected answers stay).
   */
  say(text: string, bargeIn = true): Promise<void> {
    return new Promise<void>((resolve) => {
      this.serialize(async () => {
        try {
          if (this.hasEnded()) return;
          await this.speak(text, bargeIn);
          if (this.state === 'botSpeaking' && this.prompt === undefined) this.backToListening();
        } finally {
          resolve();
        }
      });
      // serialize() skips the job once the call ended: settle anyway.
      void this.done.then(() => resolve());
    });
  }

  /** Ends the call now (whatever is playing is cut), stored with `disposition` and ended by the bot. */
  async hangupNow(disposition: string): Promise<void> {
    if (this.hasEnded()) return;
    this.ending = { disposition, by: 'bot' };
    this.cutPrompt();
    await this.o.control.hangup();
    this.finish({ code: 'bot_hangup' });
  }

  /** Hands the call to a human now (`target` as a flow would name it; undefined = the configured agents). */
  async transferNow(reason: string, target?: string): Promise<void> {
    if (this.hasEnded()) return;
    this.ending = { disposition: 'transferred', by: 'transfer' };
    this.cutPrompt();
    await this.o.control.transfer(reason, this.transcript.join('\n'), target);
    this.finish({ code: 'transfer' });
  }

  /**
   * Moves the dialog to its branch for `event` (the answering detector heard a carrier's assistant): what the bot is
   * saying is cut at once and the branch's first action follows. False when the dialog has no such branch (nothing
   * changes then) or the call is over.
   */
  branch(event: DialogEvent): boolean {
    if (this.hasEnded() || !this.o.dialog.branch) return false;
    // Asked now, before anything is cut, so a dialog without the branch leaves the call exactly as it was.
    const branchAction = this.o.dialog.branch(event);
    if (!branchAction) return false;
    this.redirecting = true;
    this.clearNoInput();
    const p = this.prompt;
    if (p) {
      p.cancelled = true;
      p.held = false;
      if (this.holdTimer) clearTimeout(this.holdTimer);
      this.flushPendingTurn(p);
      this.o.leg.flush();
      p.finished();
      if (this.prompt === p) this.prompt = undefined;
    }
    this.emit({ type: 'branch', atMs: this.o.speech.nowMs, event });
    this.serialize(async () => {
      this.redirecting = false;
      await this.perform(await branchAction, undefined);
    });
    return true;
  }

  private cutPrompt(): void {
    const p = this.prompt;
    if (!p) return;
    p.cancelled = true;
    this.o.leg.flush();
  }

  // ---- caller side -------------------------------------------------------------------------------------------

  private readonly onCallerFrame = (pcm: Int16Array): void => {
    if (this.state === 'ended') return;
    this.echo.observeCaller(pcm);
    if (!this.echoPathLogged && this.echo.path) {
      this.echoPathLogged = true;
      const { delayFrames, lossDb, correlation, spreadDb } = this.echo.path;
      this.o.log.info(
        {
          delayMs: delayFrames * FRAME_MS,
          lossDb: Math.round(lossDb * 10) / 10,
          correlation: Math.round(correlation * 100) / 100,
          spreadDb: Math.round(spreadDb * 10) / 10,
          cancelling: this.canceller !== undefined,
        },
        'echo path learned',
      );
    }
    this.lastFrameWall = this.now();
    if (this.assumedFinal) this.settleAssumedFinal(this.assumedFinal);
    // The guard and the onset detector judge the line as it is (echo included: barge-in detection is tuned on it,
    // and a frame the canceller lets through uncleaned would look like a rise); the VAD and ASR hear it cleaned.
    const bot = this.echo.matchedBotFrame;
    const heard = this.canceller && bot ? this.canceller.process(pcm, bot, this.echo.path) : pcm;
    const onset = this.onset.push(pcm);
    // Frames the guard attributes to the bot's echo are not decoded; a barge-in over them is, from its first frame.
    this.o.speech.push(heard, this.echo.echoVerdict());
    // Over the bot's echo the onset detector sees no new rise (the echo keeps the line loud) and the VAD no new start
    // (the echo started it): frames in speech that the guard finds louder than any echo are the caller's onset then.
    // With the echo cancelled the VAD does not start on the echo at all, so it cannot stand in for it: on a learned
    // path such frames count from the first (the VAD still confirms the hold).
    const overEchoCounts = this.o.speech.speaking || (this.canceller !== undefined && this.echo.path !== undefined);
    this.overEchoRun = overEchoCounts && this.echo.isOverEcho() ? this.overEchoRun + 1 : 0;
    const overEcho = this.overEchoRun === this.onsetFrames;
    const p = this.prompt;
    const onsetMs = this.o.speech.nowMs - this.o.config.bargeIn.minSpeechMs;
    if ((onset || overEcho) && p && this.state === 'botSpeaking' && !p.held && this.mayInterrupt(p, onsetMs)) {
      // Loud caller frames over the bot: pause it now, before the VAD (~300 ms slower) confirms speech.
      if (this.echo.isEchoOnset(this.onsetFrames)) this.echoIgnored(p, this.o.speech.nowMs);
      else this.holdPrompt(p, onsetMs);
    } else if (p && p.held && !p.vadConfirmed && !this.o.speech.speaking && this.o.speech.nowMs - p.heldAtMs >= HOLD_CONFIRM_MS) {
      this.resumePrompt(p, 'noise');
    }
  };

  /** Caller sound over the bot that the guard takes for the bot's echo: no barge-in. */
  private echoIgnored(p: Prompt, atMs: number): void {
    if (!this.echo.path) p.echoAssumedAtMs = atMs;
    this.emit({ type: 'echoIgnored', atMs });
  }

  /** Whether the utterance of `e` is one the guard let pass on its assumption (see Prompt.echoAssumedAtMs). */
  private passedOnEchoAssumption(p: Prompt, e: FinalTranscript): boolean {
    const at = p.echoAssumedAtMs;
    // The VAD's start may precede the energy onset a little (preroll correction): allow half a second.
    return at !== undefined && at >= e.speechStartMs - 500 && at <= e.atMs;
  }

  private mayBargeIn(p: Prompt): boolean {
    return p.bargeIn && this.o.config.bargeIn.enabled;
  }

  /** A barge-in, or the caller going on with the turn `p` answers (even a prompt the caller may not cut). */
  private mayInterrupt(p: Prompt, onsetMs: number): boolean {
    return this.mayBargeIn(p) || this.continuesTurn(p, onsetMs);
  }

  /**
   * Whether caller speech from `onsetMs` over `p` goes on with the turn `p` answers: it began soon after that
   * turn's speech ended, before the caller heard more than the start of the answer, and the dialog can still take
   * the answer back.
   */
  private continuesTurn(p: Prompt, onsetMs: number): boolean {
    const last = this.lastSpeechTurn;
    const within = this.o.config.bargeIn.continueTurnMs;
    if (!last || within === 0 || !this.o.config.bargeIn.enabled || p.answersSeq !== last.seq) return false;
    // What the caller had heard when they began: the VAD reports a soft onset some 300 ms after it.
    const heardAtOnsetMs = (p.playedSamples / this.rate) * 1000 - Math.max(0, this.o.speech.nowMs - onsetMs);
    if (onsetMs - last.speechEndMs > within || heardAtOnsetMs > CONTINUE_HEARD_MS) return false;
    return this.o.dialog.revisable?.() === true;
  }

  private readonly onSpeechStart = (e: { atMs: number }): void => {
    if (this.state === 'ended') return;
    this.clearNoInput();
    this.emit({ type: 'speechStart', atMs: e.atMs });
    const p = this.prompt;
    if (p && p.held) {
      p.vadConfirmed = true;
      return;
    }
    if (this.state === 'botSpeaking' && p) {
      // Speech the onset detector missed (soft onset): the VAD start is the barge-in, later.
      if (!this.mayInterrupt(p, e.atMs)) return;
      if (this.echo.isEcho()) {
        this.echoIgnored(p, e.atMs);
        return;
      }
      this.holdPrompt(p, e.atMs);
      p.vadConfirmed = true;
      return;
    }
    if (this.state === 'listening') this.state = 'callerSpeaking';
  };

  private readonly onPartial = (e: { text: string; atMs: number }): void => {
    if (this.state !== 'ended') this.emit({ type: 'partial', text: e.text, atMs: e.atMs });
  };

  private readonly onSpeechEnd = (e: { atMs: number }): void => {
    if (this.state !== 'ended') this.emit({ type: 'speechEnd', atMs: e.atMs });
  };

  private readonly onFinal = (e: FinalTranscript): void => {
    if (this.state === 'ended') return;
    this.emit({ type: 'final', ...e });
    const p = this.prompt;
    // An utterance shown to be the bot's echo (on a learned path, no frame of it louder) is not the caller, whatever
    // was decoded.
    const text = e.botEcho ? '' : e.text.trim();
    if (e.botEcho && e.text.trim() !== '') this.o.log.debug({ text: e.text }, 'final of the bot\'s echo ignored');
    if (p && p.held) {
      const reason = e.botEcho || this.followedEchoPath(e) ? 'echo' : this.falseBargeInReason(text, p.continuation);
      if (reason) {
        this.resumePrompt(p, reason);
        return;
      }
      this.confirmBargeIn(p);
    } else if (this.state === 'botSpeaking') {
      if (p && this.isLateFinalOfHold(p, e.speechStartMs, e.atMs) && text !== '' && !this.falseBargeInReason(text)) {
        // The prompt resumed (the hold gave up waiting) before this speech's transcript came: it is still the
        // caller's turn (转人工 must transfer), so stop the bot now as if the barge-in had been confirmed.
        this.o.log.info({ text }, 'late final after a resumed hold: taking the turn');
        this.holdPrompt(p, e.speechStartMs);
        this.confirmBargeIn(p);
      } else if (p && this.mayBargeIn(p) && this.passedOnEchoAssumption(p, e) && text !== '' && !this.falseBargeInReason(text)) {
        // Speech the echo guard let through on its assumption (no path learned when it began, and it was not shown
        // to be echo since: not marked botEcho). The caller's (e.g. a quiet 喂 over the first second of the greeting)
        // unless the line shows it was echo: with no path yet, wait until the guard has had the bot talk to learn one;
        // with one learned since the speech began, its frames are judged on it now.
        this.assumedFinal = { p, e, text };
        this.settleAssumedFinal(this.assumedFinal);
        return;
      } else {
        // A no-barge-in prompt, or the bot's echo shown on a learned path: not a turn.
        this.o.log.debug({ text }, 'final during bot speech ignored');
        return;
      }
    }
    this.speechTurn(e, text, p);
  };

  /** The caller's words of `e` (already judged not echo, not a backchannel) go to the dialog as a turn. */
  private speechTurn(e: FinalTranscript, text: string, p: Prompt | undefined): void {
    if (text === '' && !this.unrecognized(e, p)) {
      this.backToListening();
      return;
    }
    if (this.state === 'thinking') {
      this.heardWhileDeciding(e, text);
      return;
    }
    const turn = this.newTurn('speech', text, e.speechStartMs, e.speechEndMs, p !== undefined && p.cancelled);
    if (p && p.cancelled) turn.heardMs = Math.round((p.playedSamples / this.rate) * 1000);
    this.transcript.push(`caller: ${text === '' ? '(speech not recognized)' : text}`);
    const speechEndWall = this.wallOf(e.speechEndMs);
    const last = this.lastSpeechTurn;
    if (p && p.cancelled && p.continuation && last && this.o.dialog.revise) {
      this.continueTurn(last, turn, e, text, speechEndWall);
      return;
    }
    const input = speechInput(text, e.confidence);
    this.lastSpeechTurn = { seq: turn.seq, speechEndMs: e.speechEndMs, input };
    this.serialize(async () => this.decide(turn, input, () => this.o.dialog.next(input), speechEndWall));
  }

  /**
   * Whether an utterance the recognizer made nothing of is still the caller's turn: speech long enough not to be a
   * cough or a lone 嗯, begun after the bot's last prompt had ended (its echo tail is no turn), while nothing else is
   * under way. The dialog gets it as speech with no text, which a flow answers as a no-match: a caller speaking a
   * dialect the model does not know is told the bot did not catch that (and its retries lead to an agent), instead
   * of hearing silence and then "can you hear me?" (and, after the no-input retries, a hangup as no answer).
   */
  private unrecognized(e: FinalTranscript, p: Prompt | undefined): boolean {
    const minMs = this.o.config.unrecognizedSpeechMs;
    if (minMs === 0 || e.botEcho || p !== undefined) return false;
    if (this.state !== 'listening' && this.state !== 'callerSpeaking') return false;
    if (e.speechEndMs - e.speechStartMs < minMs) return false;
    return this.lastPromptEndMs === undefined || e.speechStartMs >= this.lastPromptEndMs;
  }

  /**
   * The dialog decides on speech turn `turn` (`input`) with `decision`, then the loop performs the answer; unless the
   * caller said more meanwhile (see heardWhileDeciding), which goes on with the turn where the dialog can still
   * take the answer back.
   */
  private async decide(turn: TurnSummary, input: SpeechInput, decision: () => Promise<BotAction>, speechEndWall: number): Promise<void> {
    const deciding: Deciding = { turn, input };
    this.deciding = deciding;
    let action: BotAction;
    try {
      action = await decision();
    } finally {
      this.deciding = undefined;
    }
    const late = deciding.late;
    if (late && this.state !== 'ended') {
      const whole = speechInput(joinWords(input.text, late.input.text), lowerConfidence(input.confidence, late.input.confidence));
      const revised = this.o.dialog.revisable?.() === true ? this.o.dialog.revise?.(whole) : undefined;
      if (revised) {
        // The answer to the first words never played: that turn is stored without one, and the whole turn is
        // answered as the continuation's (as when the caller goes on over the answer, continueTurn).
        turn.botText = '';
        this.o.onTurn?.(turn);
        // Both are speech turns, made from finals: each carries its speech's start and end.
        const lateEndMs = late.turn.speechEndMs!;
        this.lastSpeechTurn = { seq: late.turn.seq, speechEndMs: lateEndMs, input: whole };
        const pauseMs = Math.max(0, late.turn.speechStartMs! - turn.speechEndMs!);
        this.markContinued(late.turn, turn.seq, whole, pauseMs, 'caller went on while the bot was deciding: deciding again on the whole turn');
        await this.decide(late.turn, whole, () => revised, this.wallOf(lateEndMs));
        return;
      }
      // The answer reached outside the call (a webhook, the do-not-call ledger): the first words are answered, and
      // the later ones are kept as a turn of their own that got no answer.
      this.storeUnanswered(late.turn, 'caller spoke while the bot was deciding on a turn it cannot take back: stored unanswered');
    }
    await this.perform(action, turn, speechEndWall);
  }

  /**
   * A final while the dialog decides. After a speech turn: the words join that turn's late words (decide() settles
   * them). Otherwise (the greeting, an answer to a no-input or DTMF): nothing said can be taken back, so they are a
   * turn of their own without an answer.
   */
  private heardWhileDeciding(e: FinalTranscript, text: string): void {
    this.transcript.push(`caller: ${text}`);
    const d = this.deciding;
    if (!d) {
      const turn = this.newTurn('speech', text, e.speechStartMs, e.speechEndMs, false);
      this.storeUnanswered(turn, 'caller spoke while the bot was deciding, after no speech turn: stored unanswered');
      return;
    }
    if (!d.late) {
      const turn = this.newTurn('speech', text, e.speechStartMs, e.speechEndMs, false);
      d.late = { turn, input: speechInput(text, e.confidence) };
      return;
    }
    const late = d.late;
    late.input = speechInput(joinWords(late.input.text, text), lowerConfidence(late.input.confidence, e.confidence));
    late.turn.callerText = late.input.text;
    late.turn.speechEndMs = e.speechEndMs;
  }

  /** The caller's words in `turn` got no answer from the bot: stored so, with a log line saying `why`. */
  private storeUnanswered(turn: TurnSummary, why: string): void {
    turn.botText = '';
    this.o.log.info({ seq: turn.seq, text: turn.callerText }, why);
    this.o.onTurn?.(turn);
  }

  /**
   * `turn` goes on with turn `seq` after the caller's pause of `pauseMs`, and the dialog decides on `whole`: what
   * continueTurn and decide() both record of it.
   */
  private markContinued(turn: TurnSummary, seq: number, whole: SpeechInput, pauseMs: number, why: string): void {
    if (this.o.config.bargeIn.waitOutCallerPauses) this.callerPauseMs = Math.max(this.callerPauseMs ?? 0, pauseMs);
    turn.continuesSeq = seq;
    this.o.log.info({ seq, text: whole.text }, why);
    this.emit({ type: 'turnContinued', atMs: this.o.speech.nowMs, seq, text: whole.text });
  }

  /**
   * The caller went on with turn `last` after a pause the bot took for its end: the answer was stopped, and the
   * dialog takes it back and decides on the whole turn. `turn` (stored with the words said after the pause) says
   * which turn it continues.
   */
  private continueTurn(last: SpeechTurn, turn: TurnSummary, e: FinalTranscript, text: string, speechEndWall: number): void {
    const whole = speechInput(joinWords(last.input.text, text), lowerConfidence(last.input.confidence, e.confidence));
    const own = speechInput(text, e.confidence);
    // The caller's silence between the two: from the end of the speech the bot answered to this speech's start.
    const pauseMs = Math.max(0, e.speechStartMs - last.speechEndMs);
    this.serialize(async () => {
      // Revisable when the hold began; should the dialog no longer be, the words are a turn of their own.
      const revised = this.o.dialog.revise?.(whole);
      this.lastSpeechTurn = { seq: turn.seq, speechEndMs: e.speechEndMs, input: revised ? whole : own };
      if (revised) this.markContinued(turn, last.seq, whole, pauseMs, 'caller went on with the turn the bot had answered: deciding again on the whole turn');
      await this.decide(turn, revised ? whole : own, () => revised ?? this.o.dialog.next(own), speechEndWall);
    });
  }

  /**
   * A final let pass on the guard's assumption, on each caller frame: once a path is learned, dropped if its frames
   * followed it (evidence) and taken otherwise; taken as well once the wait is over or the prompt is no longer
   * playing, since nothing showed it was echo.
   */
  private settleAssumedFinal(a: AssumedFinal): void {
    const nowMs = this.o.speech.nowMs;
    const playing = this.prompt === a.p && this.state === 'botSpeaking' && !a.p.held;
    if (!this.echo.path && playing && nowMs - a.e.atMs < ASSUMED_ECHO_WAIT_MS) return;
    const echo = this.echo.path ? this.echo.wasEcho(...this.framesAgo(a.e, nowMs)) : undefined;
    this.assumedFinal = undefined;
    if (echo === true) {
      this.o.log.debug({ text: a.text }, 'final shown to be the bot\'s echo once the path was learned: ignored');
      return;
    }
    if (playing) this.takeAssumedTurn(a.p, a.e, a.text);
    // The prompt played out meanwhile: the words answer it. Anything else (a barge-in held it, a turn is under way)
    // has the caller's newer speech, which decides.
    else if (this.state === 'listening') this.speechTurn(a.e, a.text, undefined);
    else this.o.log.debug({ text: a.text }, 'final let pass as echo superseded by newer speech');
  }

  /** The utterance of `e` as caller frames ago: from its first to its last. */
  private framesAgo(e: FinalTranscript, nowMs: number): [number, number] {
    return [Math.ceil((nowMs - e.speechStartMs) / FRAME_MS), Math.max(1, Math.floor((nowMs - e.speechEndMs) / FRAME_MS))];
  }

  /**
   * Whether the utterance that held the bot followed the learned echo path after all (a few frames out of step
   * under load can hold it): then it was the bot's echo and the prompt resumes.
   */
  private followedEchoPath(e: FinalTranscript): boolean {
    if (!this.echo.path) return false;
    const followed = this.echo.wasEcho(...this.framesAgo(e, this.o.speech.nowMs)) === true;
    if (followed) this.o.log.debug({ text: e.text }, 'the speech that held the bot followed the echo path: resuming');
    return followed;
  }

  private takeAssumedTurn(p: Prompt, e: FinalTranscript, text: string): void {
    this.o.log.info({ text }, 'speech over the bot without echo evidence: taking the turn');
    this.holdPrompt(p, e.speechStartMs);
    this.confirmBargeIn(p);
    this.speechTurn(e, text, p);
  }

  private readonly onDtmf = (digit: string): void => {
    if (this.state === 'ended') return;
    this.clearNoInput();
    const p = this.prompt;
    if (p && this.state === 'botSpeaking' && p.bargeIn && !p.held) {
      this.holdPrompt(p, this.o.speech.nowMs);
      this.confirmBargeIn(p);
    }
    if (digit !== '#') this.dtmfDigits += digit;
    if (this.dtmfTimer) clearTimeout(this.dtmfTimer);
    if (digit === '#') this.flushDtmf();
    else this.dtmfTimer = setTimeout(() => this.flushDtmf(), DTMF_INTER_DIGIT_MS);
  };

  private flushDtmf(): void {
    this.dtmfTimer = undefined;
    const digits = this.dtmfDigits;
    this.dtmfDigits = '';
    if (digits === '' || this.state === 'ended') return;
    this.emit({ type: 'dtmf', digits, atMs: this.o.speech.nowMs });
    this.transcript.push(`caller (dtmf): ${digits}`);
    const turn = this.newTurn('dtmf', digits, undefined, undefined, false);
    const wall = this.now();
    this.serialize(async () => this.perform(await this.o.dialog.next({ kind: 'dtmf', digits }), turn, wall));
  }

  // ---- barge-in -------------------------------------------------------------------------------------------------

  /** Caller speech over the bot: silence the bot now, decide once we know what was said. */
  private holdPrompt(p: Prompt, onsetMs: number): void {
    p.continuation = this.continuesTurn(p, onsetMs);
    p.held = true;
    p.heldAtMs = this.o.speech.nowMs;
    p.firstHeldAtMs ??= onsetMs;
    // The VAD may already be in speech (the bot's echo started it): no new start will confirm this, so it counts now,
    // and the transcript decides (an empty one resumes the prompt as noise).
    p.vadConfirmed = this.o.speech.speaking;
    this.o.log.debug({ atMs: this.o.speech.nowMs, vadSpeaking: p.vadConfirmed, echoLossDb: this.echo.assumedLossDb, echoPath: this.echo.path }, 'caller over the bot: prompt held');
    this.o.leg.flush();
    const stopMs = Math.max(0, this.now() - this.wallOf(onsetMs));
    const promptMs = p.synthDone ? (totalSamples(p) / this.rate) * 1000 : undefined;
    this.emit({ type: 'bargeIn', atMs: this.o.speech.nowMs, heardMs: (p.playedSamples / this.rate) * 1000, stopMs, ...(promptMs !== undefined ? { promptMs } : {}) });
    this.state = 'callerSpeaking';
    this.holdTimer = setTimeout(() => {
      // A caller between two clauses (那我需要准备什么材料吗，…… 要不要带身份证) is not speaking, but the utterance is
      // open: resuming then played the prompt over the rest of the sentence.
      if (this.prompt === p && p.held && !this.o.speech.speaking && this.o.speech.busy !== true) this.resumePrompt(p, 'noise');
    }, HOLD_GIVE_UP_MS);
  }

  private confirmBargeIn(p: Prompt): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    p.cancelled = true;
    p.held = false;
    this.flushPendingTurn(p);
    p.finished();
    if (this.prompt === p) this.prompt = undefined;
  }

  /** `continuation`: the words go on with the caller's own turn (是的 after 嗯……), so no acknowledgement of the bot. */
  private falseBargeInReason(text: string, continuation = false): 'backchannel' | 'noise' | 'echo' | undefined {
    if (text === '') return 'noise';
    const norm = normalizeText(text);
    const p = this.prompt;
    if (!continuation && this.backchannels.matches(text) && (!this.o.config.bargeIn.backchannelsInterrupt || (p !== undefined && this.nearBoundary(p))))
      return 'backchannel';
    // Only a longer transcript that is a piece of the prompt is taken for echo: short answers (是的, yes) are
    // often words the prompt itself contains.
    const minWords = /\p{Script=Han}/u.test(text) ? MIN_ECHO_WORDS_ZH : MIN_ECHO_WORDS_EN;
    if (p && countSpokenWords(text) >= minWords && normalizeText(p.text).includes(norm)) return 'echo';
    return undefined;
  }

  /** Whether the caller spoke within TURN_BOUNDARY_MS of the prompt's start or of its end. */
  private nearBoundary(p: Prompt): boolean {
    const playedMs = (p.playedSamples / this.rate) * 1000;
    if (playedMs < TURN_BOUNDARY_MS) return true;
    if (!p.synthDone) return false;
    return ((totalSamples(p) - p.playedSamples) / this.rate) * 1000 < TURN_BOUNDARY_MS;
  }

  /** A final whose speech began around a hold that has since been resumed (and not long ago). */
  private isLateFinalOfHold(p: Prompt, speechStartMs: number, atMs: number): boolean {
    if (p.resumedAtMs === undefined || p.firstHeldAtMs === undefined || p.cancelled || p.held) return false;
    // The VAD's start may precede the energy onset a little (preroll correction): allow half a second.
    return speechStartMs >= p.firstHeldAtMs - 500 && speechStartMs <= p.resumedAtMs && atMs - p.resumedAtMs <= LATE_FINAL_MS;
  }

  /** A false alarm: play the rest of the prompt from where the caller stopped hearing it. */
  private resumePrompt(p: Prompt, reason: 'backchannel' | 'noise' | 'echo'): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    p.held = false;
    p.resumedAtMs = this.o.speech.nowMs;
    this.state = 'botSpeaking';
    this.emit({ type: 'resume', atMs: this.o.speech.nowMs, reason });
    let skip = p.playedSamples;
    for (const chunk of p.chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const rest = skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
      this.o.leg.play(rest);
    }
    if (p.synthDone) this.o.leg.mark(p.endMark);
  }

  // ---- bot side -------------------------------------------------------------------------------------------------

  private readonly onBotFrame = (pcm: Int16Array): void => {
    this.echo.observeBot(pcm);
    const p = this.prompt;
    if (!p || p.held || p.cancelled) return;
    p.playedSamples += pcm.length;
    if (!p.firstFramePlayed) {
      p.firstFramePlayed = true;
      // The PBX may have started playing before the leg could tell (its event read late): count from then.
      const playedAt = this.now() - (this.o.leg.playoutLagMs ?? 0);
      const latencyMs = p.answersSpeechEndWall !== undefined ? Math.max(0, playedAt - p.answersSpeechEndWall) : undefined;
      if (p.turn && latencyMs !== undefined) {
        p.turn.latencyMs = Math.round(latencyMs);
        this.o.onTurn?.(p.turn);
        p.turn = undefined;
      }
      this.emit({ type: 'botAudioStart', atMs: this.o.speech.nowMs, latencyMs });
    }
  };

  private readonly onMark = (name: string): void => {
    const p = this.prompt;
    if (p && name === p.endMark && !p.held) {
      // When the bot stopped speaking: QA's silence and talk-over measures need where each prompt's audio ends.
      if (p.firstFramePlayed) this.emit({ type: 'botAudioEnd', atMs: this.o.speech.nowMs });
      p.finished();
    }
  };

  /**
   * Speak a prompt; resolves when the caller has heard all of it, or it was cut by a barge-in: true when the cut was
   * the caller going on with the turn it answered (the answer is being taken back).
   */
  private speak(text: string, bargeIn: boolean, turn?: TurnSummary, speechEndWall?: number): Promise<boolean> {
    const id = ++this.promptSeq;
    return new Promise<boolean>((resolve) => {
      const p: Prompt = {
        id,
        text,
        bargeIn,
        chunks: [],
        playedSamples: 0,
        synthDone: false,
        held: false,
        heldAtMs: 0,
        vadConfirmed: false,
        continuation: false,
        cancelled: false,
        endMark: `prompt-${id}-end`,
        finished: () => {
          if (!p.cancelled) this.lastPromptEndMs = this.o.speech.nowMs;
          if (this.prompt === p && !p.cancelled) this.prompt = undefined;
          resolve(p.cancelled && p.continuation);
        },
        turn,
        ...(turn && turn.inputKind === 'speech' ? { answersSeq: turn.seq } : {}),
        answersSpeechEndWall: speechEndWall,
        firstFramePlayed: false,
      };
      this.prompt = p;
      this.state = 'botSpeaking';
      this.emit({ type: 'bot', text, atMs: this.o.speech.nowMs, bargeIn });
      this.transcript.push(`bot: ${text}`);
      void this.synthesize(p).catch((err: unknown) => {
        this.o.log.error({ err }, 'speech synthesis failed');
        p.finished();
      });
    });
  }

  private async synthesize(p: Prompt): Promise<void> {
    for await (const chunk of this.o.speaker.speak(p.text, this.o.lang, this.o.leg.sampleRate)) {
      if (p.cancelled || this.state === 'ended') return;
      p.chunks.push(chunk);
      if (!p.held) this.o.leg.play(chunk);
    }
    p.synthDone = true;
    if (p.cancelled || this.state === 'ended') return;
    if (!p.held) this.o.leg.mark(p.endMark);
  }

  // ---- dialog actions ------------------------------------------------------------------------------------------

  private async perform(action: BotAction, turn: TurnSummary | undefined, speechEndWall?: number): Promise<void> {
    if (this.state === 'ended') return;
    // Decided before a branch took the dialog elsewhere: the branch's own action follows instead.
    if (this.redirecting) return;
    if (turn) {
      turn.botText = action.text;
      const understood = turn.inputKind === 'noInput' ? undefined : this.o.dialog.understanding?.();
      if (understood) {
        Object.assign(turn, understood);
        this.emit({ type: 'understood', atMs: this.o.speech.nowMs, seq: turn.seq, speechStartMs: turn.speechStartMs, ...understood });
      }
    }
    const phrases = this.o.dialog.expectedAnswers();
    if (this.o.speech.setTurnContext) {
      const pause = this.callerPauseMs !== undefined ? { callerPauseMs: this.callerPauseMs } : {};
      const holdsValue = this.o.dialog.valueCheck?.();
      this.o.speech.setTurnContext({ expects: this.o.dialog.expectedKind?.() ?? 'unknown', lang: this.o.lang, phrases, ...pause, ...(holdsValue ? { holdsValue } : {}) });
    }
    else this.o.speech.setExpected(phrases);
    if (action.kind === 'say') {
      await this.speak(action.text, action.bargeIn ?? true, turn, speechEndWall);
      if (this.state === 'botSpeaking' && this.prompt === undefined) this.backToListening();
      return;
    }
    // end / transfer: say the last words without barge-in, then leave; unless the caller goes on with the turn they
    // answer, which takes them back (the dialog's next action follows).
    if (action.text) {
      if (await this.speak(action.text, false, turn, speechEndWall)) return;
    } else if (turn) this.o.onTurn?.(turn);
    if (this.hasEnded()) return;
    if (action.kind === 'end') {
      this.ending = { disposition: action.disposition, by: 'bot' };
      await this.o.control.hangup();
    } else {
      this.ending = { disposition: 'transferred', by: 'transfer' };
      await this.o.control.transfer(action.reason, this.transcript.join('\n'), action.target);
    }
    // The leg closes in response (PBX hangup); make sure we finish even if it does not.
    this.finish({ code: action.kind === 'end' ? 'bot_hangup' : 'transfer' });
  }

  private backToListening(): void {
    if (this.state === 'ended') return;
    this.state = this.o.speech.speaking ? 'callerSpeaking' : 'listening';
    this.clearNoInput();
    if (this.state === 'listening') {
      this.noInputTimer = setTimeout(() => {
        this.noInputTimer = undefined;
        if (this.state !== 'listening') return;
        this.emit({ type: 'noInput', atMs: this.o.speech.nowMs });
        const turn = this.newTurn('noInput', '', undefined, undefined, false);
        const wall = this.now();
        this.serialize(async () => this.perform(await this.o.dialog.next({ kind: 'noInput' }), turn, wall));
      }, this.o.config.noInputTimeoutMs);
    }
  }

  // ---- ending ---------------------------------------------------------------------------------------------------

  private readonly onLegClose = (reason: LegCloseReason): void => {
    if (!this.ending) {
      const by = reason.code === 'caller_hangup' ? 'caller' : reason.code === 'transfer' ? 'transfer' : 'error';
      this.ending = { disposition: by === 'caller' ? 'caller_hangup' : reason.code, by };
    }
    this.finish(reason);
  };

  private finish(reason: LegCloseReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    const assumed = this.assumedFinal;
    this.assumedFinal = undefined;
    if (assumed) {
      // The call ended before the line showed whether these words were echo: nothing showed they were, so they are
      // kept as the caller's last turn (unanswered).
      this.transcript.push(`caller: ${assumed.text}`);
      this.o.onTurn?.(this.newTurn('speech', assumed.text, assumed.e.speechStartMs, assumed.e.speechEndMs, false));
    }
    this.clearNoInput();
    if (this.holdTimer) clearTimeout(this.holdTimer);
    if (this.dtmfTimer) clearTimeout(this.dtmfTimer);
    const p = this.prompt;
    if (p) {
      p.cancelled = true;
      this.flushPendingTurn(p);
      p.finished();
    }
    const { leg, speech } = this.o;
    leg.off('frame', this.onCallerFrame);
    leg.off('played', this.onBotFrame);
    leg.off('mark', this.onMark);
    leg.off('dtmf', this.onDtmf);
    leg.off('close', this.onLegClose);
    speech.off('speechStart', this.onSpeechStart);
    speech.off('partial', this.onPartial);
    speech.off('speechEnd', this.onSpeechEnd);
    speech.off('final', this.onFinal);
    const ending = this.ending ?? { disposition: reason.code, by: 'error' as const };
    const detail = ending.by === 'error' && reason.detail ? { detail: reason.detail } : {};
    this.emit({ type: 'end', atMs: speech.nowMs, disposition: ending.disposition, by: ending.by, ...detail });
    this.resolveDone({ disposition: ending.disposition, endedBy: ending.by, closeReason: reason, transcript: this.transcript });
  }

  // ---- plumbing -------------------------------------------------------------------------------------------------

  /** Dialog calls run one at a time, in order, and a failure ends the call cleanly instead of hanging it. */
  private serialize(job: () => Promise<void>): void {
    this.busy = this.busy.then(async () => {
      if (this.state === 'ended') return;
      if (this.state !== 'botSpeaking') this.state = 'thinking';
      try {
        await job();
      } catch (err) {
        this.o.log.error({ err }, 'dialog failed; ending the call');
        this.ending = { disposition: 'error', by: 'error' };
        await this.o.control.hangup().catch(() => undefined);
        this.finish({ code: 'bot_hangup', detail: 'dialog error' });
      }
    });
  }

  private newTurn(
    kind: TurnInput['kind'],
    text: string,
    speechStartMs: number | undefined,
    speechEndMs: number | undefined,
    bargeIn: boolean,
  ): TurnSummary {
    return { seq: ++this.turnSeq, inputKind: kind, callerText: text, speechStartMs, speechEndMs, bargeIn };
  }

  /** A turn whose answer never reached the wire is stored all the same, without a latency. */
  private flushPendingTurn(p: Prompt): void {
    if (!p.turn) return;
    this.o.onTurn?.(p.turn);
    p.turn = undefined;
  }

  private wallOf(audioMs: number): number {
    return this.lastFrameWall - (this.o.speech.nowMs - audioMs);
  }

  private clearNoInput(): void {
    if (this.noInputTimer) clearTimeout(this.noInputTimer);
    this.noInputTimer = undefined;
  }

  private emit(event: CallTimelineEvent): void {
    this.o.onEvent?.(event);
  }
}

export { normalizeText };

function speechInput(text: string, confidence: number | undefined): SpeechInput {
  return confidence === undefined ? { kind: 'speech', text } : { kind: 'speech', text, confidence };
}

/** The lower of two confidences, or the one known. */
function lowerConfidence(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? (a ?? b) : Math.min(a, b);
}

/** The words before and after a pause as one utterance: a comma where they are Chinese, a space otherwise. */
function joinWords(before: string, after: string): string {
  return /\p{Script=Han}$/u.test(before) || /^\p{Script=Han}/u.test(after) ? `${before}，${after}` : `${before} ${after}`;
}

function totalSamples(p: Prompt): number {
  let total = 0;
  for (const c of p.chunks) total += c.length;
  return total;
}
