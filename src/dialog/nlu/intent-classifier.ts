import type { Lang } from '../types.ts';
import type { IntentSpec } from './builtin-intents.ts';
import { detectEmotion } from './emotion.ts';
import { normalizePhrase, normalizeUtterance } from './normalize.ts';
import { readingsOf, soundsLikeAt } from '../../core/index.ts';
import { extractSlots, toArabic } from './slots.ts';
import type { IntentDefinition, IntentScore, NluResult, Slots } from './types.ts';

interface Phrase {
  text: string;
  /** The phrase's characters, for sound-alike (pinyin) matching of zh phrases of 2+ characters; undefined otherwise. */
  chars?: string[];
  intent: number;
  /** zh phrases of 4+ characters also match with one wrong character (ASR substitutions: 换款 for 还款). */
  fuzzy: boolean;
}

interface CompiledIntent {
  def: IntentDefinition;
  exact?: RegExp;
  implies?: string;
}

export interface ClassifyOptions {
  now: Date;
  timeZone: string;
  /** Below this confidence the result carries no intent (the step re-prompts or falls back). */
  threshold: number;
}

/** Main readings of 不 and 没 (not their rarer ones: 没 is also mo, which 么 shares). */
const SOUND_NEGATOR_READINGS = ['bu', 'mei'];
const NEGATOR_CHARS = '不没别未';
const ZH_HESITATION = /^(?:嗯+|恩+|啊+|呃+|额+|哦+|噢+|昂+|那个)$/u;
const zhSegmenter = new Intl.Segmenter('zh', { granularity: 'word' });
const zhNegators = ['不是很', '不怎么', '不太', '并不', '没有', '不', '没', '别', '未'];
// "no" is left out: before a phrase it is nearly always a separate answer ("no, you have the wrong number").
const enNegator = /(?:^|\s)(?:not|never|not really|not very|hardly|do not|did not)\s$/;
/**
 * Words the small English models hear for a fast "not" (the demo model hears "not interested" as "nine interested"):
 * right before a keyword they read as a negation, which errs toward "no", the safe side for consent.
 */
const enSoundNegator = /(?:^|\s)(?:nine|knot|naught|nought|note|nod|nut)\s$/;
const fuzzyPenalty = 0.85;
/** A keyword heard only as a sound-alike (转仁工 for 转人工) counts a little less than the written one. */
const pinyinPenalty = 0.9;
const impliedPenalty = 0.95;
/** A slot heard without any keyword: enough in a short answer ("下周三"), too weak in a long unrelated sentence. */
const slotScoreShort = 0.6;
const slotScoreLong = 0.45;
/** A whole-utterance word that only opens the utterance ("对，是这张") counts, a little less. */
const leadingExactFactor = 0.7;
/**
 * A correction ("不对，是后天", "no, friday"): an opening that only denies, then a value the step can take. The value
 * wins over the bare denial (a whole-utterance denial word that opens the answer scores leadingExactFactor).
 */
const correctionScore = 0.8;
const zhNegatorChar = /[不没别未]/u;
const enNegatorWord = /(?:^|\s)(?:not|never|no|cannot|can not|do not|did not|will not|won ?t|can ?t|don ?t)(?:\s|$)/;
const clauseBreak = /[,，.。!！?？;；、…\s]+/u;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds an intent definition from its lexicon spec. Throws on a bad regular expression, naming it. */
export function compileIntent(name: string, spec: IntentSpec): IntentDefinition {
  return {
    name,
    keywords: spec.keywords ?? [],
    exact: spec.exact ?? [],
    patterns: (spec.patterns ?? []).map((p) => {
      try {
        return new RegExp(p, 'u');
      } catch (err) {
        throw new Error(`intent ${name}: bad pattern ${JSON.stringify(p)}: ${(err as Error).message}`);
      }
    }),
    negation: spec.negation,
    slot: spec.slot,
    weight: spec.weight ?? 1,
    description: spec.description,
    implies: spec.implies,
  };
}

/**
 * Rule-based intent recognition for one language: keywords (longest match first, so 不需要 wins over 需要),
 * whole-utterance words, patterns and slots, with negation and a coverage-based confidence. Deterministic and
 * allocation-light: meant to run inside the turn latency.
 */
export class IntentClassifier {
  readonly lang: Lang;
  private readonly intents: CompiledIntent[];
  private readonly index = new Map<string, number>();
  private readonly phrases: Phrase[];
  private readonly normalizedPhrases = new Map<string, readonly string[]>();
  /** The whole of an answer that only denies (不对, 不是不是, no), from the `no` intent's words. */
  private readonly denialOnly?: RegExp;

  constructor(lang: Lang, definitions: IntentDefinition[]) {
    this.lang = lang;
    this.intents = definitions.map((def) => {
      const exactAlternatives = def.exact.map((e) => escapeRegExp(normalizePhrase(e, lang))).filter((e) => e.length > 0);
      const sep = lang === 'en' ? ' ?' : '';
      return {
        def,
        implies: def.implies,
        exact: exactAlternatives.length > 0 ? new RegExp(`^(?:(?:${exactAlternatives.join('|')})${sep})+$`, 'u') : undefined,
      };
    });
    this.intents.forEach((c, i) => this.index.set(c.def.name, i));
    const phrases: Phrase[] = [];
    this.intents.forEach((c, i) => {
      for (const k of c.def.keywords) {
        const text = normalizePhrase(k, lang);
        if (text.length === 0) continue;
        const chars = [...text];
        const soundAlike = lang === 'zh' && chars.length >= 2 && chars.length === text.length && /\p{Script=Han}/u.test(text);
        phrases.push({ text, chars: soundAlike ? chars : undefined, intent: i, fuzzy: lang === 'zh' && chars.length >= 4 });
      }
    });
    phrases.sort((a, b) => b.text.length - a.text.length);
    this.phrases = phrases;
    const no = this.definition('no');
    const denials = no ? [...no.keywords, ...no.exact].map((w) => escapeRegExp(normalizePhrase(w, lang))).filter((w) => w.length > 0) : [];
    if (denials.length > 0) this.denialOnly = new RegExp(`^(?:(?:${denials.join('|')})${lang === 'en' ? ' ?' : ''})+$`, 'u');
  }

  has(intent: string): boolean {
    return this.index.has(intent);
  }

  intentNames(): string[] {
    return this.intents.map((c) => c.def.name);
  }

  definition(intent: string): IntentDefinition | undefined {
    const i = this.index.get(intent);
    return i === undefined ? undefined : this.intents[i]?.def;
  }

  /** Phrases that say this intent (keywords and whole-utterance words), for the endpointer and ASR hotwords. */
  phrasesOf(intent: string): string[] {
    const def = this.definition(intent);
    return def ? [...def.keywords, ...def.exact] : [];
  }

  /**
   * Whether `normalized` (a classified utterance) says `intent` the way a caller gives consent: the answer opens with
   * one of its phrases (after 喂, 那 or "well"), or ends with one of two characters or more after its topic (地址对的,
   * 时间可以), and nothing else in it negates. A consent word the recognizer found inside the answer (我钱是), or beside
   * a negation the answer also holds (我不楚是; 号码换人了，我不认识他 heard as 好…我不钱), most often comes from a
   * misrecognized sentence rather than from a yes: a step that can take a refusal asks again.
   */
  opensClearly(intent: string, normalized: string): boolean {
    const phrases = this.consentPhrases(intent);
    const en = this.lang === 'en';
    let text = normalized.trim().replace(en ? /^(?:(?:hello|hi|well|oh|so|then)\s+)+/ : /^(?:喂|哦|噢|啊|那|就)+/u, '');
    const opens = phrases.some((p) => (en ? text === p || text.startsWith(`${p} `) : text.startsWith(p)));
    const closes = phrases.some((p) => (en ? p.includes(' ') && text.endsWith(` ${p}`) : [...p].length >= 2 && text.endsWith(p)));
    if (!opens && !closes) return false;
    // The intent's own phrases may hold a negator (没错, 不错, no problem): only what is left can negate.
    for (const p of phrases) text = text.split(p).join(' ');
    return !(en ? enNegatorWord.test(` ${text} `) : zhNegatorChar.test(text));
  }

  /** The intent's phrases normalized as utterances are, longest first: made once per intent, not per turn. */
  private consentPhrases(intent: string): readonly string[] {
    let phrases = this.normalizedPhrases.get(intent);
    if (!phrases) {
      phrases = this.phrasesOf(intent)
        .map((p) => normalizePhrase(p, this.lang))
        .filter((p) => p.length > 0)
        .sort((a, b) => b.length - a.length);
      this.normalizedPhrases.set(intent, phrases);
    }
    return phrases;
  }

  /**
   * Classifies one utterance against the intents a step can take (`candidates`, in priority order).
   * Intents outside the candidates still claim their words; through `implies` they may count as a candidate.
   */
  classify(text: string, candidates: readonly string[], opts: ClassifyOptions): NluResult {
    const normalized = normalizeUtterance(text, this.lang);
    const slots = extractSlots(normalized, this.lang, opts.now, opts.timeZone);
    const emotion = detectEmotion(text, this.lang);
    const approximate = new Uint8Array(this.intents.length);
    const clauses = this.lang === 'zh' ? clauseIds(text, normalized) : undefined;
    const scores = this.scoreAll(normalized, slots, this.leadingClause(text), approximate, clauses);
    const ranked = this.rankCandidates(scores, candidates, approximate);
    const best = ranked[0];
    const matched = best !== undefined && best.confidence >= opts.threshold;
    return {
      intent: matched ? best.intent : undefined,
      confidence: best?.confidence ?? 0,
      ranked,
      slots,
      emotion,
      normalized,
      source: matched ? 'rules' : 'none',
    };
  }

  /** Raw score of every intent (index-aligned), before mapping to a step's candidates. */
  /** The utterance's first clause, when punctuation or a pause marks one ("对，是这张" -> "对"). */
  private leadingClause(text: string): string | undefined {
    const trimmed = text.trim();
    const parts = trimmed.split(clauseBreak).filter((p) => p.length > 0);
    if (parts.length < 2) return undefined;
    if (this.lang === 'en') {
      // Spoken English has no commas: an opening yes/no word ("no i did not order it") is its own clause.
      const normalized = normalizeUtterance(trimmed, 'en');
      return normalized.split(' ')[0];
    }
    const first = parts[0];
    if (first === undefined || first.trim() === trimmed) return undefined;
    // A hesitation before the real answer (嗯，那个，下周三吧; 嗯……我不太想) is not a yes of its own.
    if (ZH_HESITATION.test(first.trim())) return undefined;
    return normalizeUtterance(first, this.lang);
  }

  /**
   * `approximate` is set for every intent whose score rests only on sound-alike or one-character-off keyword
   * matches: the caller may not have said it (a step that must not mistake a refusal for consent checks it).
   */
  private scoreAll(normalized: string, slots: Slots, leading: string | undefined, approximate: Uint8Array, clauses?: Uint16Array): Float64Array {
    const n = this.intents.length;
    const scores = new Float64Array(n);
    if (normalized.length === 0) return scores;
    const en = this.lang === 'en';
    const text = en ? ` ${normalized} ` : normalized;
    const contentLength = en ? normalized.replace(/ /g, '').length : [...normalized].length;
    const credit = new Float64Array(n);
    const exactCredit = new Float64Array(n);
    const taken = new Uint8Array(text.length);
    // Code-unit indexing below matches characters only when every character is one code unit (BMP): true for
    // Chinese text; sound-alike matching is skipped otherwise.
    const chars = !en && [...text].length === text.length ? [...text] : undefined;
    const starts = chars ? this.wordStarts(text) : undefined;
    const asking = en ? undefined : askingForms(text);
    // A phrase never spans a clause break the caller made (不是，我说的是... holds no 不是我), nor takes part of an
    // A-not-A question (有没有 holds no 没有; 远不远 as a whole may be a keyword).
    const fits = (start: number, end: number): boolean =>
      (clauses === undefined || clauses[start] === clauses[end - 1]) && (asking === undefined || takesWholeForms(asking, start, end));

    for (const p of this.phrases) {
      const needle = en ? ` ${p.text} ` : p.text;
      let from = 0;
      for (;;) {
        const found = text.indexOf(needle, from);
        if (found < 0) break;
        from = found + 1;
        const start = en ? found + 1 : found;
        const end = start + p.text.length;
        if (!this.isFree(taken, start, end) || !fits(start, end)) continue;
        if (starts && !this.startsWord(text, starts, start, end)) continue;
        taken.fill(1, start, end);
        this.creditMatch(text, taken, start, end, p, credit, 1, asking);
        this.creditMatch(text, new Uint8Array(0), start, end, p, exactCredit, 1, asking);
      }
      // Sound-alikes of this phrase before any shorter phrase takes their characters: 部需要 must be read as
      // 不需要 (refusal) before 需要 (consent) can claim its last two characters.
      if (p.chars && chars) {
        for (let s = 0; s + p.chars.length <= chars.length; s++) {
          const end = s + p.chars.length;
          if (!this.isFree(taken, s, end) || !fits(s, end) || !soundsLikeAt(chars, s, p.chars)) continue;
          if (starts && !this.startsWord(text, starts, s, end)) continue;
          // A sound-alike must also end where a word ends: 什么时(候) is not 什么事.
          if (starts && end < text.length && starts[end] !== end) continue;
          taken.fill(1, s, end);
          this.creditMatch(text, taken, s, end, p, credit, pinyinPenalty, asking);
        }
      }
    }
    if (!en) this.fuzzyPass(text, taken, credit, fits, asking);

    const arabic = this.intents.some((c) => c.def.patterns.length > 0) ? toArabic(normalized, this.lang) : normalized;
    for (let i = 0; i < n; i++) {
      const c = this.intents[i]!;
      const def = c.def;
      let score = 0;
      const chars = credit[i] ?? 0;
      if (chars > 0) {
        const coverage = Math.min(1, chars / contentLength);
        score = def.weight * (0.45 + 0.55 * coverage);
      }
      let approx = chars > 0 && (exactCredit[i] ?? 0) === 0;
      if (c.exact?.test(normalized)) {
        score = Math.max(score, def.weight);
        approx = false;
      } else if (leading !== undefined && c.exact?.test(leading)) {
        score = Math.max(score, def.weight * leadingExactFactor);
        approx = false;
      }
      for (const re of def.patterns) {
        const m = re.exec(normalized) ?? re.exec(arabic);
        if (m) {
          const coverage = Math.min(1, m[0].replace(/ /g, '').length / contentLength);
          score = Math.max(score, def.weight * (0.6 + 0.4 * coverage));
          approx = false;
        }
      }
      if (def.slot && this.slotFits(def.slot, slots)) {
        const short = contentLength <= (en ? 20 : 8);
        score = score > 0 ? Math.min(1, score + 0.1) : def.weight * (short ? slotScoreShort : slotScoreLong);
        approx = false;
      }
      scores[i] = score;
      approximate[i] = approx && score > 0 ? 1 : 0;
    }
    // An answer that opens with its negation ("no, i'll manage", "不，可以了") is not consent, whatever follows.
    if (leading !== undefined) {
      for (let i = 0; i < n; i++) {
        const negation = this.intents[i]!.def.negation;
        const target = negation === undefined ? undefined : this.index.get(negation);
        if (target !== undefined && this.intents[target]!.exact?.test(leading)) scores[i] = (scores[i] ?? 0) * 0.5;
      }
      const correction = this.correctionAfterDenial(normalized, leading);
      if (correction !== undefined) {
        for (let i = 0; i < n; i++) {
          const def = this.intents[i]!.def;
          if (!def.slot || !this.slotFits(def.slot, slots)) continue;
          if (correction) {
            scores[i] = Math.max(scores[i] ?? 0, def.weight * correctionScore);
            approximate[i] = 0;
          } else {
            // 不是，明天没空: the day named is the one the caller cannot do.
            scores[i] = (scores[i] ?? 0) * 0.5;
          }
        }
      }
    }
    return scores;
  }

  /**
   * For an answer that opens with a bare denial and goes on: true when the rest says a value without another
   * negation ("不对，是后天" corrects the value), false when it negates again ("不是，明天还不了" still refuses);
   * undefined for any other answer.
   */
  private correctionAfterDenial(normalized: string, leading: string): boolean | undefined {
    if (!this.denialOnly?.test(leading) || !normalized.startsWith(leading)) return undefined;
    const rest = normalized.slice(leading.length);
    if (rest.trim().length === 0) return undefined;
    return !(this.lang === 'en' ? enNegatorWord.test(` ${rest} `) : zhNegatorChar.test(rest));
  }

  private slotFits(slot: NonNullable<IntentDefinition['slot']>, slots: Slots): boolean {
    const v = slots[slot.name];
    if (v === undefined) return false;
    if (typeof v !== 'number') return true;
    return (slot.min === undefined || v >= slot.min) && (slot.max === undefined || v <= slot.max);
  }

  /** For each code unit of a Chinese utterance, the start of the word (Intl.Segmenter, ICU dictionary) it belongs to. */
  private wordStarts(text: string): Int32Array {
    const starts = new Int32Array(text.length);
    for (const seg of zhSegmenter.segment(text)) starts.fill(seg.index, seg.index, seg.index + seg.segment.length);
    return starts;
  }

  /**
   * A two-character keyword must begin a word of the utterance, or follow a negator inside one: 行的 is not a
   * yes inside 银行的, while 需要 inside 不需要 still meets its negator. Longer keywords are specific enough.
   */
  private startsWord(text: string, starts: Int32Array, start: number, end: number): boolean {
    if (end - start > 2) return true;
    const wordStart = starts[start] ?? start;
    if (wordStart === start) return true;
    // ICU glues a negator to what precedes it (我不/还): a keyword that opens with one is a word start itself.
    if (NEGATOR_CHARS.includes(text[start]!)) return true;
    return zhNegators.includes(text.slice(wordStart, start));
  }

  private isFree(taken: Uint8Array, start: number, end: number): boolean {
    for (let k = start; k < end; k++) if (taken[k]) return false;
    return true;
  }

  /** Credits a keyword found at [start, end) to its intent, or to its negation when a negator comes right before. */
  private creditMatch(
    text: string,
    taken: Uint8Array,
    start: number,
    end: number,
    p: Phrase,
    credit: Float64Array,
    factor: number,
    asking: Int32Array | undefined,
  ): void {
    const def = this.intents[p.intent]!.def;
    // The 不 of 要不要 negates nothing.
    const inQuestion = asking !== undefined && start > 0 && asking[start - 1]! >= 0;
    const negatorLength = inQuestion ? 0 : this.negatorBefore(text, taken, start);
    if (negatorLength > 0) {
      const target = def.negation === undefined ? undefined : this.index.get(def.negation);
      if (target === undefined) {
        // "Not <this intent>" says nothing by itself: leave the words to a phrase that reads the negation
        // (不会还的 is 不会还, a refusal, not a negated 会还的).
        taken.fill(0, start, end);
        return;
      }
      taken.fill(1, start - negatorLength, start);
      credit[target] = (credit[target] ?? 0) + (end - start + negatorLength) * factor;
      return;
    }
    credit[p.intent] = (credit[p.intent] ?? 0) + (end - start) * factor;
  }

  private negatorBefore(text: string, taken: Uint8Array, start: number): number {
    if (this.lang === 'en') {
      const before = text.slice(Math.max(0, start - 16), start);
      const m = enNegator.exec(before) ?? enSoundNegator.exec(before);
      if (!m) return 0;
      const len = m[0].trimStart().length;
      return this.isFree(taken, start - len, start - 1) ? len : 0;
    }
    for (const neg of zhNegators) {
      const s = start - neg.length;
      if (s >= 0 && text.startsWith(neg, s) && this.isFree(taken, s, start)) return neg.length;
    }
    // A sound-alike of a one-character negator (部 or 步 for 不, 美 for 没): reading it as a negation errs toward
    // "no", the safe side for consent.
    const before = text[start - 1];
    if (before !== undefined && this.isFree(taken, start - 1, start) && readingsOf(before).some((r) => SOUND_NEGATOR_READINGS.includes(r))) return 1;
    return 0;
  }

  private fuzzyPass(
    text: string,
    taken: Uint8Array,
    credit: Float64Array,
    fits: (start: number, end: number) => boolean,
    asking: Int32Array | undefined,
  ): void {
    for (const p of this.phrases) {
      if (!p.fuzzy) continue;
      const len = p.text.length;
      for (let s = 0; s + len <= text.length; s++) {
        if (!this.isFree(taken, s, s + len) || !fits(s, s + len)) continue;
        let mismatches = 0;
        for (let k = 0; k < len && mismatches <= 1; k++) if (text.charCodeAt(s + k) !== p.text.charCodeAt(k)) mismatches++;
        // The first and last characters must agree, or 不需要 would pass for 也需要.
        if (mismatches !== 1 || text[s] !== p.text[0] || text[s + len - 1] !== p.text[len - 1]) continue;
        taken.fill(1, s, s + len);
        this.creditMatch(text, taken, s, s + len, p, credit, fuzzyPenalty, asking);
      }
    }
  }

  private rankCandidates(scores: Float64Array, candidates: readonly string[], approximate: Uint8Array): IntentScore[] {
    const best = new Map<string, number>();
    const approx = new Map<string, boolean>();
    const candidateSet = new Set(candidates);
    for (let i = 0; i < scores.length; i++) {
      let score = scores[i] ?? 0;
      if (score <= 0) continue;
      let name: string | undefined = this.intents[i]!.def.name;
      // Follow implies (stop_calling -> not_interested -> no) until the step expects it; guard against loops.
      for (let hops = 0; name !== undefined && !candidateSet.has(name) && hops < 4; hops++) {
        const idx = this.index.get(name);
        name = idx === undefined ? undefined : this.intents[idx]!.implies;
        score *= impliedPenalty;
      }
      if (name === undefined || !candidateSet.has(name)) continue;
      if (score > (best.get(name) ?? 0)) {
        best.set(name, score);
        approx.set(name, approximate[i] === 1);
      }
    }
    const order = new Map(candidates.map((c, i) => [c, i]));
    return [...best.entries()]
      .map(([intent, confidence]): IntentScore => {
        const score: IntentScore = { intent, confidence: Math.round(confidence * 1000) / 1000 };
        if (approx.get(intent)) score.approximate = true;
        return score;
      })
      .sort((a, b) => b.confidence - a.confidence || (order.get(a.intent) ?? 0) - (order.get(b.intent) ?? 0));
  }
}

/**
 * Chinese asks yes/no questions as A-not-A (有没有, 是不是, 要不要, 能不能, 可不可以): the negator there negates
 * nothing, and neither half is an answer. For each code unit, the start of the A-not-A form it is part of, or -1.
 * A negation said twice (不是不是, 没有没有) is not a question.
 */
function askingForms(text: string): Int32Array | undefined {
  let forms: Int32Array | undefined;
  for (let i = 1; i + 1 < text.length; i++) {
    const c = text[i];
    if (c !== '不' && c !== '没') continue;
    const a = text[i - 1]!;
    if (a !== text[i + 1] || !/\p{Script=Han}/u.test(a)) continue;
    if (i >= 2 && text[i - 2] === c) continue;
    forms ??= new Int32Array(text.length).fill(-1);
    forms.fill(i - 1, i - 1, i + 2);
  }
  return forms;
}

/** Whether [start, end) takes each A-not-A form it touches whole (有没有 may be a keyword; 没有 inside it is not). */
function takesWholeForms(forms: Int32Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) {
    const f = forms[k]!;
    if (f >= 0 && (f < start || f + 3 > end)) return false;
  }
  return true;
}

/**
 * For each code unit of the normalized utterance, the number of the clause (split at the caller's punctuation) it
 * came from; undefined when normalizing clause by clause does not give back the same text (then no breaks are used).
 */
function clauseIds(text: string, normalized: string): Uint16Array | undefined {
  const parts = text.split(clauseBreak).filter((p) => p.length > 0);
  if (parts.length < 2) return undefined;
  const ids = new Uint16Array(normalized.length);
  let at = 0;
  for (let k = 0; k < parts.length; k++) {
    const piece = normalizeUtterance(parts[k]!, 'zh');
    if (normalized.slice(at, at + piece.length) !== piece) return undefined;
    ids.fill(k, at, at + piece.length);
    at += piece.length;
  }
  return at === normalized.length ? ids : undefined;
}

/** Merges flow intents into the built-ins of a language: same name adds words, new names add intents. */
export function mergeIntentSpecs(builtins: Record<string, IntentSpec>, flowIntents: Record<string, IntentSpec>): Record<string, IntentSpec> {
  const merged: Record<string, IntentSpec> = {};
  for (const [name, spec] of Object.entries(builtins)) merged[name] = { ...spec };
  for (const [name, spec] of Object.entries(flowIntents)) {
    const base = merged[name];
    merged[name] = base
      ? {
          ...base,
          ...spec,
          keywords: [...(base.keywords ?? []), ...(spec.keywords ?? [])],
          exact: [...(base.exact ?? []), ...(spec.exact ?? [])],
          patterns: [...(base.patterns ?? []), ...(spec.patterns ?? [])],
        }
      : { ...spec };
  }
  return merged;
}
