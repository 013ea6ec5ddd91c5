/**
 * How long to wait in silence before taking the caller's turn as over. A fixed trailing silence is either slow
 * (700 ms on every answer) or cuts people off when they pause to think. This picks the wait per moment, between a
 * floor and a cap, from cues that cost microseconds: what the partial transcript says (an answer the step expects,
 * or a sentence that is plainly unfinished), what the flow step asked for, and how the voice ended (falling pitch
 * and fading energy close a turn; a level or rising hold keeps it open).
 *
 * The decision is a pure function of its inputs, so the endpointer can re-evaluate it on every frame and partial.
 */
import { soundsLikeAt, toneOf, type Lang } from '../core/index.ts';

/** What kind of answer the flow step is waiting for (the scripted flow knows what it just asked). */
export type AnswerKind = 'yesNo' | 'choice' | 'date' | 'amount' | 'number' | 'digits' | 'free' | 'unknown';

export interface TurnContext {
  expects: AnswerKind;
  /**
   * The call's language. In an English call, Chinese characters in the transcript are the bilingual recognizer's
   * confusion (the tiny model spells unknown English as 还再 or 三), and Chinese cues read from them mean nothing.
   * Not the other way round: Chinese callers do say English words (我想 talk to agent).
   */
  lang?: Lang;
  /** Phrases that answer the step (matched on the partial transcript by the endpointer). */
  phrases: readonly string[];
  /**
   * The longest pause this caller has made inside a turn earlier in the call, known where the bot took one for the
   * end and the caller went on: no silence shorter than that (and a margin) ends this caller's turns.
   */
  callerPauseMs?: number;
  /**
   * For a step that asks for a value (a date, an amount, a number): whether a transcript already holds one, read by
   * the dialog's own parser. A caller asked for a day who has not said one yet (我想想，就是，... / "let me see,") is
   * still on the way to the answer.
   */
  holdsValue?: (text: string) => boolean;
}

export const UNKNOWN_TURN_CONTEXT: TurnContext = { expects: 'unknown', phrases: [] };

/** How the voice ended, from the audio (see ProsodyTracker). */
export type ProsodyEnd = 'falling' | 'level' | 'rising' | 'unknown';

export interface EndOfTurnOptions {
  /** Never answer sooner than this after the caller stops (VAD jitter, a breath between words). */
  floorMs: number;
  /** Never wait longer than this while the caller is silent. */
  capMs: number;
  /** Wait when no cue says anything (no transcript yet, an answer the step did not list). */
  baseMs: number;
  /** Wait once the transcript matches an answer the step expects and nothing says the caller goes on. */
  expectedMs: number;
}

export interface EndOfTurnInput {
  /** Latest partial transcript of the utterance ('' before the first one). */
  text: string;
  /** Whether `text` matches one of the step's expected answers. */
  matchesExpected: boolean;
  /** Whether an expected answer is what the transcript ends with (then a phrase like 我就是 is not "unfinished"). */
  expectedAtEnd?: boolean;
  /**
   * The caller hummed after the expected answer and went on with words that are none (不嗯 not): the answer was not
   * the end, and the turn is judged as if none had been said.
   */
  humAfterAnswer?: boolean;
  context: TurnContext;
  prosody: ProsodyEnd;
  /** Length of the utterance so far (speech start to the last voiced frame). */
  speechMs: number;
  /**
   * The last voice was known only from the transcript growing (the VAD missed it), so when it stopped is known
   * only to within the ASR's partial interval: no shortcut below the base wait.
   */
  endHeardByAsrOnly?: boolean;
  /** Whether `text` holds the value the step asks for (TurnContext.holdsValue); undefined when it asks for none. */
  valueHeld?: boolean;
  /** Optional audio turn model's probability that the turn is complete (0..1), when one is configured. */
  modelCompleteProbability?: number;
}

/** Why the wait is what it is, for the timeline and tests. */
export type EndOfTurnCue =
  | 'expected'
  | 'incomplete'
  | 'numberInProgress'
  | 'question'
  | 'complete'
  | 'freeAnswer'
  | 'falling'
  | 'hold'
  | 'continuationRise'
  | 'model'
  | 'noText'
  | 'hesitation'
  | 'runUp'
  | 'awaitingValue'
  | 'asrOnly'
  | 'callerPauses'
  /** The transcript holds far fewer words than its voice's length would (see isSparse). */
  | 'sparseText'
  /** The end was read from the line's level before the VAD reported it (endpointer). */
  | 'levelEnd'
  /** The pause was counted from a sound the VAD did not take for speech (Endpointer.soundInPause). */
  | 'soundInPause'
  /** A one-character transcript whose falling tone the voice did not have (see toneContradicted). */
  | 'toneMismatch';

export interface EndOfTurnDecision {
  waitMs: number;
  cues: EndOfTurnCue[];
  /**
   * The answer the step expects cut the wait short (the endpoint is an early one, reason `expected`); not when
   * something then kept it long (a rise, an end only the ASR heard, the caller's own pauses).
   */
  early?: true;
}

// Words after which a sentence goes on: fillers, conjunctions, "I want", prepositions. Checked on the end of the
// normalized transcript only (the caller stopped there).
const ZH_TRAILING_INCOMPLETE = [
  '嗯', '呃', '额', '啊', '那个', '这个', '就是', '然后', '因为', '所以', '但是', '不过', '而且', '还有', '或者', '如果', '我想',
  '我是说', '我觉得', '我就', '的话', '比如', '和', '跟', '还是', '把', '给', '要是', '可是', '另外', '就', '先', '再', '那',
  '能不能', '可不可以', '问一下', '我问', '我的',
];
const EN_TRAILING_INCOMPLETE = new Set([
  'uh', 'um', 'er', 'erm', 'hmm', 'and', 'but', 'or', 'so', 'because', 'cause', 'if', 'then', 'the', 'a', 'an', 'to', 'of',
  'for', 'with', 'my', 'your', 'i', 'is', 'was', 'are', 'about', 'at', 'want', 'mean', 'which', 'well', 'actually',
  'you know', 'on the', 'in the', 'i think', 'i was', 'i want',
]);
// Digits or number words at the end: a card number, amount or date may go on ("三千..." "fifteen...").
const ZH_NUMBER_TAIL = /[零一二两三四五六七八九十百千万亿点0-9]$|[号月周年](?:的)?$|星期$|礼拜$|下个$|这个月$/u;
const EN_NUMBER_TAIL = /(?:\d|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|point|dollars? and)$/u;
// Number kinds that are complete once said with their unit or a day: "三千块" "下周三" "15号".
const ZH_NUMBER_DONE = /[块元号日天]$|(?:周|星期|礼拜)[一二三四五六日天]$|月底$|月初$/u;
const ZH_QUESTION = /[吗呢么吧]$|什么$|怎么$|为什么$|谁$|哪$|哪里$|哪个$|多少$|几$|是不是$|有没有$|[?？]$/u;
const EN_QUESTION = /\?$|^(?:who|what|why|how|where|when|is|are|do|does|can|could)\b.*\b(?:this|that|it|you|me|about|for)$/u;
const PUNCT = /[\s\p{P}\p{S}]+/gu;
const HAN = /\p{Script=Han}/u;

function withoutPunctuation(text: string): string {
  return text.replace(PUNCT, '');
}

/**
 * The cue words of two characters or more, as characters, for matching by sound (就是 heard as 九是 or 九什, 那个 as
 * 哪个). A single character sounds like too many others to be matched so.
 */
const ZH_TRAILING_INCOMPLETE_BY_SOUND: readonly (readonly string[])[] = ZH_TRAILING_INCOMPLETE.filter((w) => w.length >= 2).map((w) => [...w]);

/** Whether the Chinese text ends with one of the cue words by sound, though not by character. */
function endsWithIncompleteBySound(zh: string): boolean {
  const chars = [...zh];
  for (const w of ZH_TRAILING_INCOMPLETE_BY_SOUND) if (soundsLikeAt(chars, chars.length - w.length, w)) return true;
  return false;
}

/**
 * Whether the transcript's end says the caller has more to say, and which cue says so. `bySound`: Chinese cue words
 * also count when the recognizer wrote a homophone of them, as it does for most of its errors. Not where the step
 * asks for a number: 九十 sounds like 就是.
 */
export function incompletenessCue(text: string, bySound = false): 'incomplete' | 'numberInProgress' | undefined {
  const t = text.trim().toLowerCase();
  if (t === '') return undefined;
  if (HAN.test(t)) {
    const zh = withoutPunctuation(t);
    if (ZH_NUMBER_DONE.test(zh)) return undefined;
    // 啊 after a question word softens a finished question (谁啊), it is no filler there.
    if (/[啊呀]$/u.test(zh) && isQuestion(zh)) return undefined;
    for (const w of ZH_TRAILING_INCOMPLETE) if (zh.endsWith(w) && !zh.endsWith(`${w}了`)) return 'incomplete';
    // A question ends as it ends: 哪个 sounds like 那个.
    if (bySound && !isQuestion(zh) && endsWithIncompleteBySound(zh)) return 'incomplete';
    if (ZH_NUMBER_TAIL.test(zh)) return 'numberInProgress';
    // An English word can end a mixed utterance ("我想 talk to agent"): fall through to the English checks.
    if (!/[a-z]$/.test(t)) return undefined;
  }
  const en = t.replace(/[^a-z0-9' ]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (en === '') return undefined;
  const words = en.split(' ');
  const last = words[words.length - 1]!;
  const lastTwo = words.slice(-2).join(' ');
  if (EN_TRAILING_INCOMPLETE.has(lastTwo) || EN_TRAILING_INCOMPLETE.has(last)) return 'incomplete';
  if (EN_NUMBER_TAIL.test(last)) return 'numberInProgress';
  return undefined;
}

/** Whether the caller asked something back (a complete turn that wants an answer now). */
export function isQuestion(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === '') return false;
  // A softening 啊/呀 after the question word (谁啊, 干什么呀) still asks.
  if (HAN.test(t)) return ZH_QUESTION.test(t.replace(/[\s。.!！，,]+$/u, '').replace(/(?<=.)[啊呀]$/u, ''));
  return EN_QUESTION.test(t.replace(/[\s.!,]+$/u, ''));
}

const HAN_RUN = /\p{Script=Han}+/gu;

/** The transcript with what the caller cannot have said in the call's language left out (see TurnContext.lang). */
function inCallLanguage(text: string, lang: Lang | undefined): string {
  return lang === 'en' && HAN.test(text) ? text.replace(HAN_RUN, ' ').replace(/\s+/g, ' ') : text;
}

/** A transcript that ends with a filler sound (punctuation aside). */
const TRAILING_FILLER = /(?:嗯|呃|额|唔|\b(?:uh|um|er|erm|hmm))[\s\p{P}]*$/u;

/** A transcript that opens with a filler sound (the caller is thinking). */
const OPENING_FILLER = /^(?:嗯|呃|额|唔|那个|这个|uh\b|um\b|er\b|erm\b|hmm\b)/u;

/** Sounds shorter than this without any transcript are taken for hesitations. */
const HESITATION_MAX_MS = 600;

/**
 * A closed question (yes/no, a choice, a date or a number) is answered in a few words, and the answer is what the
 * step expects. An utterance shorter than this that holds none of them and opens with a filler or is only a word
 * or two (嗯，那个，... or 我想想，... before 下周吧; the tiny model spells 那个 and "um" as unrelated words) is most
 * often the run-up to the answer, not an off-script turn: those are longer, or are questions.
 */
const RUN_UP_MAX_MS = 1600;
const RUN_UP_MAX_UNITS_ZH = 3;
const RUN_UP_MAX_UNITS_EN = 2;
const CLOSED_KINDS = new Set<AnswerKind>(['yesNo', 'choice', 'date', 'amount', 'number', 'digits']);
/** Filler sounds as the recognizer writes them in Chinese. */
const FILLER_CHAR_LIST = '嗯呃额唔啊哦噢恩';
const FILLER_CHARS = new RegExp(`[${FILLER_CHAR_LIST}]`, 'gu');
const EN_FILLER_WORDS = new Set(['uh', 'um', 'er', 'erm', 'hmm', 'mm', 'ah', 'oh']);

/** Han characters plus Latin words of a transcript, fillers left out: how much the recognizer made of the voice. */
function contentUnits(text: string): { units: number; han: boolean } {
  const t = text.toLowerCase();
  const han = (t.replace(FILLER_CHARS, '').match(/\p{Script=Han}/gu) ?? []).length;
  const words = (t.match(/[a-z']+/g) ?? []).filter((w) => !EN_FILLER_WORDS.has(w)).length;
  return { units: han + words, han: han > 0 };
}

/**
 * Callers say 3-5 Chinese characters or 2-3 English words a second. A transcript with under half that for each second
 * of voice (and a voice long enough to tell) is mostly what the recognizer did not make out, and its last word says
 * little of the end: "let me see, and," heard as "thank", 嗯，那个， as 你么 or 你道, 我想想，就是， as 你 nine事.
 */
const SPARSE_UNITS_PER_SECOND_ZH = 2;
const SPARSE_UNITS_PER_SECOND_EN = 1;
const SPARSE_MIN_SPEECH_MS = 1000;
/** Fillers and run-ups are short; a voice longer than this is a sentence, whatever the recognizer made of it. */
const SPARSE_MAX_SPEECH_MS = 3000;

function isSparse(text: string, speechMs: number): boolean {
  if (speechMs < SPARSE_MIN_SPEECH_MS || speechMs > SPARSE_MAX_SPEECH_MS) return false;
  const { units, han } = contentUnits(text);
  return units < ((han ? SPARSE_UNITS_PER_SECOND_ZH : SPARSE_UNITS_PER_SECOND_EN) * speechMs) / 1000;
}

/** A number, day or date word: the answer a numeric step asks for, even when its phrases do not list it. */
const NUMERIC_WORD =
  /[0-9零一二两三四五六七八九十百千万亿号月周天]|星期|礼拜|明|\b(?:today|tomorrow|tonight|week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday|one|two|three|four|five|six|seven|eight|nine|ten|twenty|hundred|thousand)\b/u;

function isRunUp(input: EndOfTurnInput, text: string): boolean {
  if (!CLOSED_KINDS.has(input.context.expects) || input.speechMs >= RUN_UP_MAX_MS) return false;
  const lower = text.toLowerCase();
  if (NUMERIC_KINDS.has(input.context.expects) && NUMERIC_WORD.test(lower)) return false;
  if (OPENING_FILLER.test(lower)) return true;
  const { units, han } = contentUnits(text);
  return units <= (han ? RUN_UP_MAX_UNITS_ZH : RUN_UP_MAX_UNITS_EN);
}

/**
 * A one-character answer carries its own tone, and a falling (fourth) tone falls when said alone (是, 对, 不, 要). Said
 * level or rising, the voice was another syllable the recognizer took for it: a hummed 嗯 written 不, an answer
 * read as a refusal and spoken into the caller's pause. Not the other tones: a quick 好 is said low and falling.
 */
function toneContradicted(text: string, prosody: ProsodyEnd): boolean {
  if (prosody !== 'level' && prosody !== 'rising') return false;
  const chars = withoutPunctuation(text);
  return chars.length === 1 && HAN.test(chars) && !FILLER_CHAR_LIST.includes(chars) && toneOf(chars) === 4;
}

/** How much longer than the base a sentence whose voice ends level or rising (held, not closed) is waited for. */
const HELD_END_EXTRA_MS = 250;

/** Shorter than this, an utterance ending in a number where none was asked is a group of digits or a run-up. */
const NUMBER_SENTENCE_MIN_MS = 2500;

/** Step kinds whose answers are numbers: a number at the end is the answer, not one still being spoken, once long enough. */
const NUMERIC_KINDS = new Set<AnswerKind>(['amount', 'number', 'digits', 'date']);

/**
 * The silence to wait, now, before the turn counts as over. Order of precedence: an unfinished sentence holds the
 * turn open to the cap (that is what stops cut-offs); an expected answer closes it at the expected wait; other
 * complete-looking text waits the base, shortened by a falling end and lengthened by a held one.
 */
export function endOfTurnWait(input: EndOfTurnInput, o: EndOfTurnOptions): EndOfTurnDecision {
  const d = textAndVoiceWait(input, o);
  const heard = !input.endHeardByAsrOnly || d.waitMs >= o.baseMs ? d : { waitMs: Math.min(o.capMs, Math.max(o.floorMs, o.baseMs)), cues: [...d.cues, 'asrOnly' as const] };
  const pause = input.context.callerPauseMs;
  if (pause === undefined || heard.waitMs >= pause + CALLER_PAUSE_MARGIN_MS) return heard;
  return { waitMs: Math.round(Math.min(o.capMs, pause + CALLER_PAUSE_MARGIN_MS)), cues: [...heard.cues, 'callerPauses'] };
}

/** A caller's pauses vary around their habit: wait a little longer than the longest one seen. */
const CALLER_PAUSE_MARGIN_MS = 150;

function textAndVoiceWait(input: EndOfTurnInput, o: EndOfTurnOptions): EndOfTurnDecision {
  const cues: EndOfTurnCue[] = [];
  const clamp = (ms: number): number => Math.round(Math.min(o.capMs, Math.max(o.floorMs, ms)));
  const text = inCallLanguage(input.text, input.context.lang).trim();
  const answered = input.matchesExpected && input.humAfterAnswer !== true;
  // The expected answer ends the transcript only once fillers are stripped: a filler said after it (不嗯, where the
  // tiny model heard 嗯，需要's 嗯 as 不嗯) means the caller went on, as a bare 嗯 does.
  const answerLast = answered && input.expectedAtEnd && !TRAILING_FILLER.test(text.toLowerCase());
  const incomplete = answerLast ? undefined : incompletenessCue(text, !NUMERIC_KINDS.has(input.context.expects));

  if (incomplete === 'incomplete') {
    cues.push('incomplete');
    return { waitMs: o.capMs, cues };
  }
  if (incomplete === 'numberInProgress') {
    cues.push('numberInProgress');
    // A number the step asked for may well be complete ("一万五" for an amount); a falling end says it is.
    const numeric = NUMERIC_KINDS.has(input.context.expects);
    if (numeric && input.valueHeld === false) {
      // Digits that are no date or amount yet (十五 before 号): the value is still being said.
      cues.push('awaitingValue');
      return { waitMs: o.capMs, cues };
    }
    if (!numeric) {
      // A step that asked for no number: someone reading out a card number holds each group open, and a group
      // is short, while a falling end closes a sentence that merely ends in a number (上个月我已经在手机上还了三千)
      // or in a stray digit from the recognizer.
      if (input.prosody !== 'falling' || input.speechMs < NUMBER_SENTENCE_MIN_MS) return { waitMs: o.capMs, cues };
      // ... but not a voice the recognizer made little of (a barge-in heard as 二 five five).
      if (isSparse(text, input.speechMs)) return { waitMs: o.capMs, cues: [...cues, 'sparseText'] };
      cues.push('falling');
      return { waitMs: clamp(o.baseMs), cues };
    }
    const wait = input.prosody === 'falling' ? o.baseMs : (o.baseMs + o.capMs) / 2;
    return { waitMs: clamp(wait), cues };
  }
  if (input.modelCompleteProbability !== undefined) {
    cues.push('model');
    // Linear between cap (surely incomplete) and floor (surely complete); text cues above still win.
    const p = Math.min(1, Math.max(0, input.modelCompleteProbability));
    const wait = o.capMs - p * (o.capMs - o.floorMs);
    return { waitMs: clamp(answered ? Math.min(wait, o.expectedMs) : wait), cues };
  }
  // Too short to hold both a filler and an answer: a recognizer that hears 嗯 and adds a 是 has not heard a yes.
  // A fluent "嗯，是的" lasts longer than this and still takes the expected-answer wait below.
  if (input.speechMs < HESITATION_MAX_MS && OPENING_FILLER.test(text.toLowerCase())) {
    cues.push('hesitation');
    return { waitMs: o.capMs, cues };
  }
  if (toneContradicted(text, input.prosody)) {
    // Whatever the step expects, the recognizer wrote a syllable the caller did not say: wait as for a sentence.
    cues.push('toneMismatch');
    return { waitMs: clamp(o.baseMs), cues };
  }
  if (answered) {
    cues.push('expected');
    if (input.prosody === 'rising' && !HAN.test(text) && !isQuestion(text)) {
      // An English answer said with a rise ("yes," before "I mean no", or "yes?" asking back) is no finished
      // answer: wait as for a sentence that ends held. Not a listed question ("who is this"), which rises as
      // questions do; not Chinese, where the last syllable's tone sets the pitch movement (没有 rises as it ends).
      cues.push('continuationRise');
      return { waitMs: clamp(Math.max(o.expectedMs, o.baseMs + HELD_END_EXTRA_MS)), cues };
    }
    const held = input.prosody === 'rising' || input.prosody === 'level';
    // A long utterance that merely contains an expected phrase ("是的，不过我想问...") is less surely over.
    const long = input.speechMs > 2500;
    if (held) cues.push('hold');
    return { waitMs: clamp(o.expectedMs + (held ? 100 : 0) + (long ? 150 : 0)), cues, early: true };
  }
  // A short sound that is not an answer the step expects is most often a hesitation (嗯, um, 那个) before the
  // answer, whatever the recognizer made of it; short real answers are nearly all expected phrases (是, 不用,
  // 喂, 什么, who is this) and were decided above.
  if (input.speechMs < HESITATION_MAX_MS) {
    cues.push(...(text === '' ? (['noText', 'hesitation'] as const) : (['hesitation'] as const)));
    return { waitMs: o.capMs, cues };
  }
  if (text === '') {
    // Voice the recognizer made no word of: fillers it does not spell (um, uh, 嗯), a cough, or words it does not
    // know. None says the caller is done, and the reply it can get is a no-match prompt, which nobody waits for.
    cues.push('noText');
    return { waitMs: o.capMs, cues };
  }
  // A question, unless the recognizer made little of the voice (嗯，那个， heard as 你么): then see below.
  if (isQuestion(text) && !isSparse(text, input.speechMs)) {
    cues.push('question');
    return { waitMs: clamp(input.prosody === 'level' ? o.baseMs * 0.7 : o.baseMs * 0.55), cues };
  }
  if (NUMERIC_KINDS.has(input.context.expects) && input.valueHeld === false) {
    // The step asked for a day or an amount and none has been said: whatever came so far leads up to it.
    cues.push('awaitingValue');
    return { waitMs: o.capMs, cues };
  }
  if (isRunUp(input, text)) {
    cues.push('runUp');
    return { waitMs: o.capMs, cues };
  }
  if (isSparse(text, input.speechMs)) {
    // As with no text, where the recognizer spelled a word or two of a longer voice: its text tells little of the end.
    cues.push('sparseText');
    return { waitMs: o.capMs, cues };
  }
  cues.push('complete');
  let wait = o.baseMs;
  if (input.context.expects === 'free') {
    // Comments run long and wander; a short pause is rarely their end.
    cues.push('freeAnswer');
    wait += 200;
  }
  if (input.prosody === 'falling') {
    cues.push('falling');
    wait *= 0.6;
  } else if (input.prosody === 'rising' || input.prosody === 'level') {
    cues.push('hold');
    wait += HELD_END_EXTRA_MS;
  }
  return { waitMs: clamp(wait), cues };
}
