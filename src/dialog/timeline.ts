import type { TurnUnderstanding } from './types.ts';

/** What happened in a call, as the simulator, the console and the event log see it. Times are ms on the call's
 * audio clock (0 = first caller frame) unless named otherwise. */
export type CallTimelineEvent =
  | { type: 'speechStart'; atMs: number }
  | { type: 'partial'; text: string; atMs: number }
  | { type: 'speechEnd'; atMs: number }
  | {
      type: 'final';
      text: string;
      speechStartMs: number;
      speechEndMs: number;
      atMs: number;
      earlyEndpoint: boolean;
      /** Dynamic end of turn: silence waited, and the cues that chose it. */
      waitMs?: number;
      cues?: string[];
      confidence?: number;
      /** The text is the two-pass final's (speech.asr.secondPass). */
      secondPass?: true;
    }
  | { type: 'dtmf'; digits: string; atMs: number }
  /** What the dialog understood of turn `seq` (a final or DTMF): intent, confidence, slots, the caller's emotion. */
  | ({ type: 'understood'; atMs: number; seq: number; speechStartMs?: number } & TurnUnderstanding)
  | { type: 'noInput'; atMs: number }
  | { type: 'bot'; text: string; atMs: number; bargeIn: boolean }
  /** First bot frame of a reply went on the wire; latency = end of caller speech -> that frame. */
  | { type: 'botAudioStart'; atMs: number; latencyMs?: number }
  /** A prompt finished playing to its end (a cut prompt ends with `bargeIn` instead). */
  | { type: 'botAudioEnd'; atMs: number }
  /**
   * The caller talked over the bot: bot audio stopped; `stopMs` = caller onset -> stop. `promptMs`: the whole
   * prompt's length once its synthesis is done (what was heard of its text is `heardMs` of it).
   */
  | { type: 'bargeIn'; atMs: number; heardMs: number; stopMs: number; promptMs?: number }
  /** A tentative barge-in turned out to be a backchannel, noise or echo: the prompt goes on. */
  | { type: 'resume'; atMs: number; reason: 'backchannel' | 'noise' | 'echo' }
  | { type: 'echoIgnored'; atMs: number }
  /**
   * The caller went on with turn `seq` after a pause the bot had taken for its end: the answer was stopped and taken
   * back, and the dialog decided again on the whole turn, `text`.
   */
  | { type: 'turnContinued'; atMs: number; seq: number; text: string }
  /** Something outside the conversation moved the dialog to a branch (an assistant answered): the prompt was cut. */
  | { type: 'branch'; atMs: number; event: 'assistant' }
  /** `detail`: why the wire ended the call, when it ended it with an error (`protocol_error`, `transport_error`, ...). */
  | { type: 'end'; atMs: number; disposition: string; by: 'caller' | 'bot' | 'transfer' | 'error'; detail?: string };

export type CallTimelineListener = (event: CallTimelineEvent) => void;
