import type { Lang } from '../core/index.ts';
import type { AnswerKind } from '../speech/index.ts';

export type { Lang };

/** What the caller did in one turn, as the dialog sees it. */
export type TurnInput =
  | {
      kind: 'speech';
      text: string;
      /** The recognizer's mean token confidence (0..1) when the model reports one. */
      confidence?: number;
    }
  | { kind: 'dtmf'; digits: string }
  | { kind: 'noInput' };

/** What the bot does next. */
export type BotAction =
  | {
      kind: 'say';
      /** Text to speak (already rendered: no templates left). */
      text: string;
      /** A prerecorded prompt to play instead of TTS (WAV path). */
      audioFile?: string;
      /** Whether the caller may interrupt this prompt (default true). */
      bargeIn?: boolean;
    }
  | { kind: 'end'; text?: string; disposition: string }
  | { kind: 'transfer'; text?: string; reason: string; target?: string };

/** Everything a dialog may know about the call when it starts. */
export interface CallContext {
  callId: string;
  lang: Lang;
  /** Flow name chosen by dialplan args, API or campaign; the dialog picks its default if absent. */
  flow?: string;
  direction: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  /** Call variables: campaign row fields, dialplan args, ... */
  variables: Record<string, string>;
}

/** What the dialog made of the caller's last input: stored with the turn, shown live, read by QA (质检). */
export interface TurnUnderstanding {
  /** The intent it acted on; absent when nothing matched. */
  intent?: string;
  /** 0..1 confidence of that intent (1 for a DTMF key the step maps). */
  confidence: number;
  /** Values heard (number, amount, date, time, digits), as text. */
  slots: Record<string, string>;
  /** The caller's emotion cue in this utterance (speech only): lexicon and punctuation, see nlu/emotion.ts. */
  emotion?: { label: 'angry' | 'negative' | 'neutral' | 'positive'; score: number };
}

/** One call's conversation. The turn loop drives it; it never touches audio. */
export interface DialogSession {
  /** The opening action (greeting). */
  begin(): Promise<BotAction>;
  /** The next action after the caller's input. */
  next(input: TurnInput): Promise<BotAction>;
  /**
   * Answers the current step expects (phrases in the call's language). The endpointer ends a turn
   * early once the transcript matches one, and the ASR may use them as hotwords.
   */
  expectedAnswers(): string[];
  /** What kind of answer the current step waits for (yes/no, a date, an amount, a free comment...). */
  expectedKind?(): AnswerKind;
  /**
   * For a step that asks for a value (a date or time, an amount, a number, digits): a check of whether a
   * transcript already holds one, by the dialog's own parser, for the end of turn. Undefined for other steps.
   */
  valueCheck?(): ((text: string) => boolean) | undefined;
  /** Variables set by the flow so far (slots, disposition details) to store with the call. */
  variables(): Record<string, string>;
  /**
   * An event from outside the conversation that moves it to a branch of the dialog: `assistant`, the answering
   * detector heard a carrier's AI assistant answer for the owner. Undefined at once when the dialog has no branch
   * for it; else its next action from the branch.
   */
  branch?(event: DialogEvent): Promise<BotAction> | undefined;
  /** What the latest `next()` understood of a speech or DTMF input; undefined after a no-input or for dialogs without NLU. */
  understanding?(): TurnUnderstanding | undefined;
  /**
   * Whether the answer to the latest speech input can still be taken back by `revise()`: false once that answer
   * reached outside the call (a webhook, the do-not-call ledger) or when the latest input was no speech.
   */
  revisable?(): boolean;
  /**
   * The caller went on after a pause the bot took for the end of the latest speech turn: forget that turn and what
   * it led to, and decide again, from where the dialog was before it, on `input` (the whole turn). Undefined when it
   * is not `revisable()`, and nothing changes then.
   */
  revise?(input: TurnInput): Promise<BotAction> | undefined;
}

/** Events from outside the conversation a dialog may branch on. */
export type DialogEvent = 'assistant';

export interface DialogFactory {
  create(ctx: CallContext): DialogSession;
}
