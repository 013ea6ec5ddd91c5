/**
 * One call's listening side: caller frames -> 16 kHz -> Silero VAD -> endpointer, with the streaming ASR fed only
 * while the caller is in an utterance (plus preroll), so silent calls cost no decoding at all. All times are on the
 * call's audio clock: 0 at the first pushed frame, advancing with every sample pushed.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { createResampler, type Resampler } from '../media/index.ts';
import type { AsrService } from './asr-service.ts';
import { PrerollRing } from './call-speech-preroll.ts';
import type { SpeechConfig } from './config.ts';
import { Endpointer, type EndpointDecision } from './endpointer.ts';
import type { CallSpeech, CallSpeechEvents } from './types.ts';
import { CallVad } from './vad.ts';
import { SpeechEndRefiner } from './speech-end-refiner.ts';
import { ProsodyTracker } from './prosody.ts';
import { OnsetDetector } from './onset-detector.ts';
import type { TurnContext } from './end-of-turn.ts';
import type { VadPool } from './vad-pool.ts';
import { TURN_MODEL_INPUT_SAMPLES, type TurnModel } from './turn-model.ts';
import { TurnModelRunner } from './turn-model-runner.ts';

const ASR_RATE = 16000;
const SAMPLES_PER_MS = ASR_RATE / 1000;
/** Audio kept beyond preroll + VAD confirmation delay + start grid, for slack. */
const RING_MARGIN_MS = 100;
/** Loud frames (40 ms) that hold a turn whose wait has run out for the VAD to say whether the caller goes on. */
const RESUME_ONSET_FRAMES = 2;
/**
 * How long after such an onset in the caller's silence the turn is still held for the VAD (it confirms ~250 ms
 * after): speech dips between syllables (就 | 是), and a wait that ran out on a dip took the caller's next words
 * for silence.
 */
const RESUME_ONSET_HOLD_MS = 300;
/** Loud frames (100 ms) that make a sound in a pause (Endpointer.soundInPause): longer than a click, shorter than "uh". */
const SOUND_IN_PAUSE_FRAMES = 5;
/**
 * Quiet frames (60 ms) that still leave one sound: the closure between the syllables of a word (那 | 个) dips the
 * line below the onset level, and a pause counted from the first syllable's end ran out while the caller was about
 * to go on (the rest of the word was the 170-280 ms the pause was too long by).
 */
const SOUND_GAP_FRAMES = 3;

export interface CallSpeechOptions {
  callId: string;
  /** Stream id on the ASR service, unique within the engine. */
  streamId: number;
  sampleRate: 8000 | 16000;
  config: SpeechConfig;
  vadPool: VadPool;
  asr: AsrService;
  log: Logger;
  /** Optional audio end-of-turn model (speech.endpoint.turnModel), shared by all calls. */
  turnModel?: TurnModel;
  /** Called once on close (the engine forgets the call). */
  onClose?: () => void;
  timings?: SpeechStageTimings;
}

/** Stage timings for metrics: VAD model time per frame, endpoint decision -> final transcript. Seconds. */
export interface SpeechStageTimings {
  vad(seconds: number): void;
  asrFinal(seconds: number): void;
  /** Seconds of caller audio not decoded because it was the bot's echo (reported per utterance). */
  echoSkipped?(seconds: number): void;
}

export class CallSpeechSession extends EventEmitter<CallSpeechEvents> implements CallSpeech {
  private readonly resampler: Resampler | undefined;
  private readonly vad: CallVad;
  private readonly endpointer: Endpointer;
  private readonly ring: PrerollRing;
  private readonly endRefiner = new SpeechEndRefiner();
  private readonly prosody = new ProsodyTracker();
  /** The line going loud inside a pause, before the VAD can confirm it: the turn is held until it does. */
  private readonly resumeOnset = new OnsetDetector({ frames: RESUME_ONSET_FRAMES });
  private lastFrameEcho = false;
  /** Audio-clock end of the frame that completed the last onset (not the bot's echo). */
  private resumeOnsetAtMs = Number.NEGATIVE_INFINITY;
  /** Some frame of the current run of loud frames was the bot's echo. */
  private loudRunEcho = false;
  /** The runs of loud frames so far of one sound in the caller's silence (see SOUND_GAP_FRAMES). */
  private sound = { startMs: 0, endMs: Number.NEGATIVE_INFINITY, loudFrames: 0, echo: false };
  private readonly delayMs: number;
  private readonly log: Logger;
  private readonly turnModel: TurnModelRunner | undefined;
  private float = new Float32Array(320);
  private samplesIn = 0;
  private closed = false;
  /** Partials at or before this audio time belong to an utterance already finalized. */
  private partialFloorMs = -1;
  /** Finals decided by the endpointer whose ASR finalize has not answered yet. */
  private finalsInFlight = 0;
  /** The open utterance has been nothing but the bot's echo so far: none of it went to the ASR. */
  private echoOnly = false;
  /**
   * No frame of the open utterance was shown not to be echo (whether or not echo is decoded), and `echoShown`: some
   * were shown to be, on a learned path. Only both mark its final botEcho: frames from before a path was learned
   * are neither, and an utterance of those alone is the caller's.
   */
  private utteranceEcho = false;
  private echoShown = false;
  /** The last turn ended on the line's level before the VAD reported the end of its speech (see voiceAgainAt). */
  private endedBeforeVad = false;
  /** Samples (16 kHz) of utterances not decoded as echo: in all, and not yet reported to the timings. */
  private echoSkipped = 0;
  private echoSkippedUnreported = 0;

  constructor(private readonly o: CallSpeechOptions) {
    super();
    this.log = o.log.child({ callId: o.callId });
    this.resampler = o.sampleRate === ASR_RATE ? undefined : createResampler(o.sampleRate, ASR_RATE);
    this.delayMs = (this.resampler?.delaySamples ?? 0) / SAMPLES_PER_MS;
    this.vad = new CallVad(o.vadPool, -this.delayMs, o.config.vad.resetAfterSilenceMs, o.config.vad.gateDbfs);
    this.endpointer = new Endpointer(o.config.endpoint, {
      prosody: () => this.prosody.end(),
      modelCompleteProbability: () => this.turnModel?.completeProbability,
      voiceResuming: () => !this.lastFrameEcho && (this.resumeOnset.loudFrames >= RESUME_ONSET_FRAMES || this.onsetInSilence()),
      voiceEndMs: () => this.endRefiner.lastVoiceEndMs,
    });
    const ringMs = o.config.vad.prerollMs + this.vad.startDelayMs + o.config.asr.startGridMs + RING_MARGIN_MS;
    // With a turn model the ring also keeps the model's 8 s of audio (one ring, written once per frame).
    const ringSamples = Math.ceil(ringMs * SAMPLES_PER_MS);
    this.ring = new PrerollRing(o.turnModel ? Math.max(ringSamples, TURN_MODEL_INPUT_SAMPLES) : ringSamples);
    this.turnModel = o.turnModel
      ? new TurnModelRunner(o.turnModel, this.ring, o.config.endpoint.turnModel.afterSilenceMs, () => this.onTurnModel(), this.log)
      : undefined;
    o.asr.open(o.streamId, (text, atMs, behind) => this.onPartial(text, atMs, behind === true));
  }

  get speaking(): boolean {
    return this.vad.speaking;
  }

  get busy(): boolean {
    return this.endpointer.inUtterance || this.finalsInFlight > 0;
  }

  get echoSkippedMs(): number {
    return this.echoSkipped / SAMPLES_PER_MS;
  }

  get nowMs(): number {
    return (this.samplesIn * 1000) / this.o.sampleRate;
  }

  /** An onset came after the caller's voice ended, recently enough that the VAD may not have judged it yet. */
  private onsetInSilence(): boolean {
    const silentSince = this.endpointer.silentSinceMs;
    return silentSince !== undefined && this.resumeOnsetAtMs > silentSince && this.nowMs - this.delayMs - this.resumeOnsetAtMs <= RESUME_ONSET_HOLD_MS;
  }

  setExpected(phrases: string[]): void {
    this.endpointer.setExpected(phrases);
  }

  setTurnContext(context: TurnContext): void {
    this.endpointer.setContext(context);
  }

  push(pcm: Int16Array, echo?: boolean): void {
    if (this.closed) return;
    const frameIsEcho = echo === true;
    const botEcho = frameIsEcho && this.o.config.asr.skipEcho;
    this.samplesIn += pcm.length;
    const nowMs = this.nowMs;
    if (this.resumeOnset.push(pcm) && !frameIsEcho) this.resumeOnsetAtMs = nowMs - this.delayMs;
    this.lastFrameEcho = frameIsEcho;
    const frameMs = (pcm.length * 1000) / this.o.sampleRate;
    this.trackLoudRun(frameIsEcho, nowMs - this.delayMs - frameMs, frameMs);
    const samples = this.toFloat16k(pcm);
    this.ring.write(samples);
    const vadStarted = this.o.timings ? performance.now() : 0;
    const edge = this.vad.accept(samples);
    if (this.o.timings) this.o.timings.vad((performance.now() - vadStarted) / 1000);
    const voiced = this.endRefiner.push(samples, nowMs - this.delayMs, this.vad.speaking || edge?.kind === 'end');
    let fedThisFrame = false;
    let prosodyFed = false;
    const frameStartMs = nowMs - this.delayMs - frameMs;
    const startMs = edge?.kind === 'start' ? edge.atMs : edge === undefined && voiced ? this.voiceAgainAt(frameStartMs) : undefined;
    if (startMs !== undefined) {
      if (!this.endpointer.inUtterance) {
        this.endRefiner.startUtterance();
        this.prosody.reset();
      }
      // The VAD confirms speech a few hundred ms after it began: without that audio a short answer ("yes,") left the
      // tracker only its last syllable and the VAD's trailing silence, and most of them read as falling.
      this.ring.readFrom(Math.round((startMs + this.delayMs) * SAMPLES_PER_MS), (chunk) => this.prosody.push(chunk));
      prosodyFed = true;
      this.emit('speechStart', { atMs: startMs });
      if (this.endpointer.speechStarted(startMs)) {
        // The bot's echo alone is not decoded (it costs ASR time and gives false partials).
        this.echoOnly = botEcho;
        this.utteranceEcho = echo !== false;
        this.echoShown = frameIsEcho;
        if (!botEcho) this.feedPreroll(startMs, nowMs);
        fedThisFrame = true;
      }
    }
    // Only frames the VAD hears as speech: the caller starting in the trailing silence of an echo utterance (before
    // its endpoint) begins the next utterance, and leaves this one the echo's.
    if (this.vad.speaking) {
      if (echo === false) this.utteranceEcho = false;
      else if (frameIsEcho) this.echoShown = true;
    }
    if (this.endpointer.inUtterance && !fedThisFrame) {
      if (!this.echoOnly) this.o.asr.feed(this.o.streamId, samples, nowMs);
      else if (!botEcho) {
        // The caller talks over the echo: decode from the preroll before this frame on, and everything after.
        this.echoOnly = false;
        this.feedPreroll((this.ring.end - samples.length) / SAMPLES_PER_MS - this.delayMs, nowMs);
      }
    }
    if (this.endpointer.inUtterance && this.echoOnly) {
      this.echoSkipped += samples.length;
      this.echoSkippedUnreported += samples.length;
    }
    if (this.endpointer.inUtterance && this.vad.speaking && !prosodyFed) this.prosody.push(samples);
    if (edge?.kind === 'end') {
      this.endedBeforeVad = false;
      const endMs = this.endRefiner.refine(edge.atMs, edge.startMs);
      this.endpointer.speechEnded(endMs);
      this.emit('speechEnd', { atMs: endMs });
      // The bot's echo alone: over at the VAD's end, so that a caller answering the prompt begins an utterance of
      // their own (within the trailing wait it would join this one, whose start is the echo's).
      const echoEnd = this.utteranceEcho && this.echoShown ? this.endpointer.endAsEcho(nowMs) : undefined;
      if (echoEnd) this.finish(echoEnd);
    }
    if (this.turnModel) this.runTurnModel(this.turnModel, nowMs);
    this.checkEndpoint(nowMs);
  }

  /**
   * A run of loud frames that ended with this (quiet) frame, which began at `frameStartMs`, joins the sound before it
   * when the dip between them was short; the sound is one in the caller's pause unless some of it was the bot's echo,
   * and each run that lengthens it moves the pause's restart to its new end.
   */
  private trackLoudRun(frameIsEcho: boolean, frameStartMs: number, frameMs: number): void {
    if (this.resumeOnset.loudFrames > 0) {
      if (frameIsEcho) this.loudRunEcho = true;
      return;
    }
    const ended = this.resumeOnset.endedRunFrames;
    if (ended === 0) return;
    const runStartMs = frameStartMs - ended * frameMs;
    const sound = this.sound;
    if (runStartMs - sound.endMs > SOUND_GAP_FRAMES * frameMs) {
      sound.startMs = runStartMs;
      sound.loudFrames = 0;
      sound.echo = false;
    }
    sound.endMs = frameStartMs;
    sound.loudFrames += ended;
    sound.echo ||= this.loudRunEcho;
    this.loudRunEcho = false;
    if (sound.loudFrames >= SOUND_IN_PAUSE_FRAMES && !sound.echo) this.endpointer.soundInPause(sound.startMs, sound.endMs);
  }

  /** Asks the turn model once per pause, after `afterSilenceMs` of silence; voice makes its answer stale. */
  private runTurnModel(runner: TurnModelRunner, nowMs: number): void {
    const since = this.endpointer.silentSinceMs;
    if (since === undefined) runner.voiced();
    else runner.silent(nowMs, since, this.utteranceStartSample(this.endpointer.utteranceStartMs));
  }

  /** The model's answer came for the pause still going on: decide again now rather than at the next frame. */
  private onTurnModel(): void {
    if (!this.closed) this.checkEndpoint(this.nowMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reportEchoSkipped();
    this.vad.close();
    this.o.asr.close(this.o.streamId);
    this.o.onClose?.();
  }

  private toFloat16k(pcm: Int16Array): Float32Array {
    const src = this.resampler ? this.resampler.process(pcm) : pcm;
    if (this.float.length !== src.length) this.float = new Float32Array(src.length);
    const out = this.float;
    for (let i = 0; i < src.length; i++) out[i] = src[i]! / 32768;
    return out;
  }

  /**
   * Starts the utterance's ASR with the audio from `prerollMs` before `startMs` (the VAD's corrected clock, as its
   * edges are), on the grid.
   */
  private feedPreroll(startMs: number, nowMs: number): void {
    const grid = this.o.config.asr.startGridMs * SAMPLES_PER_MS;
    const exact = this.utteranceStartSample(startMs);
    const from = grid > 0 ? Math.floor(exact / grid) * grid : exact;
    this.ring.readFrom(from, (chunk) => this.o.asr.feed(this.o.streamId, chunk, nowMs));
  }

  /** Ring sample where an utterance that the VAD started at `startMs` begins, preroll included. */
  private utteranceStartSample(startMs: number): number {
    return Math.max(0, Math.round((startMs + this.delayMs - this.o.config.vad.prerollMs) * SAMPLES_PER_MS));
  }

  private onPartial(text: string, atMs: number, behind: boolean): void {
    if (this.closed || !this.endpointer.inUtterance || atMs <= this.partialFloorMs) return;
    // A text decoded from audio well before atMs (the recognizer is behind) must not pass for voice heard at atMs:
    // that restarted the silence at every partial, so an overloaded ASR kept turns open (and fed their silence to
    // the ASR) until it caught up, and never did (bench/RESULTS.md, 2026-12-03, one core taken). Its text still counts.
    this.endpointer.partial(text, behind ? undefined : atMs);
    this.emit('partial', { text, atMs });
    this.checkEndpoint(this.nowMs);
  }

  private checkEndpoint(nowMs: number): void {
    const decision = this.endpointer.poll(nowMs);
    if (!decision) return;
    this.finish(decision);
    // Cut by maxUtteranceMs while the caller is still talking: what follows is a new utterance.
    if (decision.reason === 'maxUtterance' && this.vad.speaking) {
      this.endpointer.speechStarted(nowMs);
      this.utteranceEcho = false;
    } else if (this.vad.speaking) {
      this.endedBeforeVad = true;
    }
  }

  /**
   * After a turn ended on the line's level while the VAD still reported speech, voice before the VAD's end is a
   * new utterance from the frame it came back in (`frameStartMs`): the VAD gives no start edge inside its own
   * segment, and the caller who goes on must be heard (a barge-in, a continuation).
   */
  private voiceAgainAt(frameStartMs: number): number | undefined {
    if (!this.endedBeforeVad || !this.vad.speaking || this.endpointer.inUtterance) return undefined;
    this.endedBeforeVad = false;
    return frameStartMs;
  }

  private reportEchoSkipped(): void {
    if (this.echoSkippedUnreported === 0) return;
    this.o.timings?.echoSkipped?.(this.echoSkippedUnreported / ASR_RATE);
    this.echoSkippedUnreported = 0;
  }

  private finish(d: EndpointDecision): void {
    this.partialFloorMs = d.atMs;
    this.reportEchoSkipped();
    // Trailing silence already fed to the ASR flushes the model as well as padding does.
    const heardSilenceMs = d.atMs - d.speechEndMs;
    const paddingMs = Math.max(0, this.o.config.asr.finalPaddingMs - heardSilenceMs);
    const earlyEndpoint = d.reason === 'expected';
    const botEcho = this.utteranceEcho && this.echoShown;
    this.finalsInFlight++;
    const finalizeStarted = performance.now();
    this.o.asr.finalize(this.o.streamId, paddingMs).then(
      (final) => {
        this.finalsInFlight--;
        this.o.timings?.asrFinal((performance.now() - finalizeStarted) / 1000);
        this.emitFinal(final.text, d, earlyEndpoint, botEcho, final.confidence, final.secondPass);
      },
      (err: unknown) => {
        this.finalsInFlight--;
        this.log.error({ err }, 'ASR finalize failed; ending the turn without text');
        this.emitFinal('', d, earlyEndpoint, botEcho);
      },
    );
  }

  private emitFinal(text: string, d: EndpointDecision, earlyEndpoint: boolean, botEcho: boolean, confidence?: number, secondPass?: true): void {
    if (this.closed) return;
    this.emit('final', {
      text,
      speechStartMs: d.speechStartMs,
      speechEndMs: d.speechEndMs,
      atMs: d.atMs,
      earlyEndpoint,
      ...(d.waitMs !== undefined ? { waitMs: d.waitMs, cues: d.cues } : {}),
      ...(confidence !== undefined ? { confidence } : {}),
      ...(botEcho ? { botEcho: true as const } : {}),
      ...(secondPass ? { secondPass } : {}),
    });
  }
}
