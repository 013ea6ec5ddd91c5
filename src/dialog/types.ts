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
  /** Variables set by the flow so far (slots, disposition details) to store with the call. */
  variables(): Record<string, string>;
  /** What the last `next()` made of the caller's input (live feed, transcripts); undefined when it named nothing. */
  understanding?(): TurnUnderstanding | undefined;
}

/** The dialog's reading of one caller input: the intent it acted on, how sure, the slots and the emotion heard. */
export interface TurnUnderstanding {
  /** Absent: no intent matched (a retry follows). */
  intent?: string;
  /** 0..1 (1 for DTMF). */
  confidence: number;
  /** Values heard (date, time, amount, number, digits). */
  slots: Record<string, string | number>;
  emotion?: { label: string; score: number };
  /** Who named the intent. */
  source: 'rules' | 'llm' | 'dtmf' | 'none';
}

export interface DialogFactory {
  create(ctx: CallContext): DialogSession;
}
