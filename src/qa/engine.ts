import type { QaLeg, QaSeverity, TurnEmotion } from '../store/index.ts';
import { anyOf, keywordFinder, pinyinFinder, regexFinder } from './matching.ts';
import type { QaRuleDefinition } from './rule-schema.ts';

/** One leg's words with where they are in the recording (ms on the call's audio clock). */
export interface QaUtterance {
  leg: QaLeg;
  text: string;
  startMs: number;
  /** End of the words' audio; for the bot, when its prompt finished playing or was cut. */
  endMs: number;
  /** The caller's emotion cue, once the dialog has read the utterance. */
  emotion?: TurnEmotion;
}

/** A rule that fired, before it is stamped with the call and stored. */
export interface QaFinding {
  ruleSet: string;
  ruleId: string;
  ruleType: QaRuleDefinition['type'];
  severity: QaSeverity;
  score: number;
  leg?: QaLeg;
  text: string;
  atMs: number;
  endMs?: number;
  detail: Record<string, unknown>;
}

type Matcher = (text: string) => { phrase: string; at: number } | undefined;

export interface CompiledQaRule {
  ruleSet: string;
  def: QaRuleDefinition;
  /** Flows it applies to; undefined = every call. */
  flows?: ReadonlySet<string>;
  /** Languages it applies to; undefined = every language. */
  langs?: ReadonlySet<string>;
  /** Per-utterance rules run live on each final; the others when the call ends. */
  perUtterance: boolean;
  match?: Matcher;
  first?: Matcher;
  then?: Matcher;
}

export function compileRule(ruleSet: string, def: QaRuleDefinition, scope: { flows?: readonly string[]; langs?: readonly string[] } = {}): CompiledQaRule {
  const flows = def.flows ?? scope.flows;
  const langs = def.langs ?? scope.langs;
  const base = { ruleSet, def, flows: flows && flows.length > 0 ? new Set(flows) : undefined, langs: langs ? new Set<string>(langs) : undefined };
  switch (def.type) {
    case 'keyword':
      return { ...base, perUtterance: true, match: anyOf(def.phrases, keywordFinder) };
    case 'pinyin':
      return { ...base, perUtterance: true, match: anyOf(def.phrases, pinyinFinder) };
    case 'regex': {
      const find = regexFinder(def.pattern, def.flags);
      return { ...base, perUtterance: true, match: (text) => (find(text) >= 0 ? { phrase: def.pattern, at: find(text) } : undefined) };
    }
    case 'absence':
      return { ...base, perUtterance: false, match: anyOf(def.phrases, def.match === 'pinyin' ? pinyinFinder : keywordFinder) };
    case 'sequence':
      return { ...base, perUtterance: false, first: anyOf(def.first.phrases, keywordFinder), then: anyOf(def.then.phrases, keywordFinder) };
    case 'silence':
    case 'talk_over':
    case 'emotion':
    case 'sentiment':
      return { ...base, perUtterance: false };
  }
}

/** A set of compiled rules; picks the ones that apply to a call's flow. */
export class QaRules {
  constructor(readonly rules: readonly CompiledQaRule[]) {}

  /** The rules that apply to a call of this flow and language. */
  forCall(flow: string | undefined, lang: string | undefined): CompiledQaRule[] {
    return this.rules.filter((r) => (!r.flows || (flow !== undefined && r.flows.has(flow))) && (!r.langs || (lang !== undefined && r.langs.has(lang))));
  }

  get size(): number {
    return this.rules.length;
  }
}

const legMatches = (rule: 'caller' | 'bot' | 'any', leg: QaLeg): boolean => rule === 'any' || rule === leg;

function finding(rule: CompiledQaRule, fields: Omit<QaFinding, 'ruleSet' | 'ruleId' | 'ruleType' | 'severity' | 'score'>): QaFinding {
  return { ruleSet: rule.ruleSet, ruleId: rule.def.id, ruleType: rule.def.type, severity: rule.def.severity, score: rule.def.score, ...fields };
}

/** Where in the recording a match at fraction `at` of the utterance is. */
const timeIn = (u: QaUtterance, at: number): number => Math.round(u.startMs + Math.max(0, u.endMs - u.startMs) * at);

/**
 * QA of one call: `utterance()` on each final (caller) or spoken prompt (bot) answers the live hits at once;
 * `finish()` when the call has ended answers the whole-call ones (missing disclosures, sequences, ratios).
 */
export class QaCallEvaluation {
  private readonly utterances: QaUtterance[] = [];

  constructor(private readonly rules: readonly CompiledQaRule[]) {}

  utterance(u: QaUtterance): QaFinding[] {
    this.utterances.push(u);
    const out: QaFinding[] = [];
    for (const rule of this.rules) {
      if (!rule.perUtterance || !rule.match) continue;
      const def = rule.def as Extract<QaRuleDefinition, { leg: unknown }>;
      if (!legMatches(def.leg, u.leg)) continue;
      const m = rule.match(u.text);
      if (m) out.push(finding(rule, { leg: u.leg, text: u.text, atMs: timeIn(u, m.at), endMs: u.endMs, detail: { matched: m.phrase } }));
    }
    return out;
  }

  /**
   * The dialog's emotion cue for the caller utterance that started at `speechStartMs` (the latest one when no start
   * is known): kept for the sentiment rules, and answers the live emotion hits.
   */
  emotion(speechStartMs: number | undefined, emotion: TurnEmotion): QaFinding[] {
    const u = this.latestCallerUtterance(speechStartMs);
    if (!u) return [];
    u.emotion = emotion;
    const out: QaFinding[] = [];
    for (const rule of this.rules) {
      const def = rule.def;
      if (def.type !== 'emotion' || emotion.label === 'neutral' || emotion.score < def.min_score) continue;
      if (!(def.emotions as readonly string[]).includes(emotion.label)) continue;
      out.push(finding(rule, { leg: 'caller', text: u.text, atMs: u.startMs, endMs: u.endMs, detail: { emotion: emotion.label, score: emotion.score } }));
    }
    return out;
  }

  private latestCallerUtterance(speechStartMs: number | undefined): QaUtterance | undefined {
    for (let i = this.utterances.length - 1; i >= 0; i--) {
      const u = this.utterances[i]!;
      if (u.leg === 'caller' && u.text !== '' && (speechStartMs === undefined || u.startMs === speechStartMs)) return u;
    }
    return undefined;
  }

  /** Speech without words to match (a caller's onset before the barge-in stop): counts for the ratios only. */
  speech(leg: QaLeg, startMs: number, endMs: number): void {
    if (endMs > startMs) this.utterances.push({ leg, text: '', startMs, endMs });
  }

  /** `durationMs`: the call's length on the audio clock (its recording's length). */
  finish(durationMs: number): QaFinding[] {
    const out: QaFinding[] = [];
    for (const rule of this.rules) {
      const def = rule.def;
      switch (def.type) {
        case 'absence': {
          if (durationMs < def.min_call_s * 1000) break;
          const limitMs = def.within_s !== undefined ? def.within_s * 1000 : Infinity;
          const said = this.utterances.some((u) => legMatches(def.leg, u.leg) && u.startMs <= limitMs && rule.match!(u.text));
          if (!said) {
            out.push(
              finding(rule, {
                text: `missing: ${def.phrases.join(' / ')}`,
                atMs: 0,
                endMs: Math.round(Math.min(limitMs, durationMs)),
                detail: { required: def.phrases, withinS: def.within_s ?? null },
              }),
            );
          }
          break;
        }
        case 'sequence':
          out.push(...this.sequence(rule, def));
          break;
        case 'silence':
        case 'talk_over': {
          if (durationMs < def.min_call_s * 1000 || durationMs <= 0) break;
          const m = def.type === 'silence' ? this.silence(durationMs) : this.talkOver();
          const ratio = m.ms / durationMs;
          if (ratio > def.max_ratio) {
            out.push(
              finding(rule, {
                text: `${def.type === 'silence' ? 'silence' : 'talk-over'} ${(ratio * 100).toFixed(1)}% of the call (limit ${(def.max_ratio * 100).toFixed(1)}%)`,
                atMs: Math.round(m.longest.start),
                endMs: Math.round(m.longest.end),
                detail: { ratio: Number(ratio.toFixed(4)), ms: Math.round(m.ms), durationMs: Math.round(durationMs) },
              }),
            );
          }
          break;
        }
        case 'sentiment': {
          const hit = this.sentiment(rule, def);
          if (hit) out.push(hit);
          break;
        }
        default:
          break;
      }
    }
    return out;
  }

  /** Mean signed emotion of the caller's utterances (or the last `last_turns` of them) against the rule's floor. */
  private sentiment(rule: CompiledQaRule, def: Extract<QaRuleDefinition, { type: 'sentiment' }>): QaFinding | undefined {
    const read = this.utterances.filter((u) => u.leg === 'caller' && u.emotion);
    const judged = def.last_turns !== undefined ? read.slice(-def.last_turns) : read;
    if (judged.length < def.min_turns) return undefined;
    const signed = (u: QaUtterance): number => {
      const e = u.emotion!;
      return e.label === 'positive' ? e.score : e.label === 'neutral' ? 0 : -e.score;
    };
    const mean = judged.reduce((sum, u) => sum + signed(u), 0) / judged.length;
    if (mean >= def.below) return undefined;
    const worst = judged.reduce((a, b) => (signed(b) < signed(a) ? b : a));
    return finding(rule, {
      leg: 'caller',
      text: `caller sentiment ${mean.toFixed(2)} over ${judged.length} utterances (limit ${def.below}); lowest: ${worst.text}`,
      atMs: worst.startMs,
      endMs: worst.endMs,
      detail: { sentiment: Number(mean.toFixed(3)), utterances: judged.length, lowest: { emotion: worst.emotion!.label, score: worst.emotion!.score } },
    });
  }

  private sequence(rule: CompiledQaRule, def: Extract<QaRuleDefinition, { type: 'sequence' }>): QaFinding[] {
    const out: QaFinding[] = [];
    const windowMs = def.within_s * 1000;
    for (const a of this.utterances) {
      if (!legMatches(def.first.leg, a.leg)) continue;
      const ma = rule.first!(a.text);
      if (!ma) continue;
      const at = timeIn(a, ma.at);
      const follow = this.utterances.find((b) => b !== a && legMatches(def.then.leg, b.leg) && b.startMs >= at && b.startMs <= at + windowMs && rule.then!(b.text));
      if (def.mode === 'required' && !follow) {
        out.push(finding(rule, { leg: a.leg, text: a.text, atMs: at, endMs: a.endMs, detail: { first: ma.phrase, expected: def.then.phrases, withinS: def.within_s } }));
      } else if (def.mode === 'forbidden' && follow) {
        const mb = rule.then!(follow.text)!;
        out.push(finding(rule, { leg: follow.leg, text: follow.text, atMs: timeIn(follow, mb.at), endMs: follow.endMs, detail: { first: ma.phrase, after: a.text, then: mb.phrase, withinS: def.within_s } }));
      }
    }
    return out;
  }

  private intervals(leg: QaLeg): Array<[number, number]> {
    return merge(this.utterances.filter((u) => u.leg === leg && u.endMs > u.startMs).map((u) => [u.startMs, u.endMs] as [number, number]));
  }

  /** Time nobody speaks, and its longest stretch. */
  private silence(durationMs: number): { ms: number; longest: { start: number; end: number } } {
    const speech = merge([...this.intervals('caller'), ...this.intervals('bot')]);
    let cursor = 0;
    let ms = 0;
    let longest = { start: 0, end: 0 };
    for (const [s, e] of [...speech, [durationMs, durationMs] as [number, number]]) {
      const gap = Math.max(0, Math.min(s, durationMs) - cursor);
      ms += gap;
      if (gap > longest.end - longest.start) longest = { start: cursor, end: cursor + gap };
      cursor = Math.max(cursor, e);
    }
    return { ms, longest };
  }

  /** Time both legs speak at once, and its longest stretch. */
  private talkOver(): { ms: number; longest: { start: number; end: number } } {
    const caller = this.intervals('caller');
    const bot = this.intervals('bot');
    let ms = 0;
    let longest = { start: 0, end: 0 };
    for (const [cs, ce] of caller) {
      for (const [bs, be] of bot) {
        const s = Math.max(cs, bs);
        const e = Math.min(ce, be);
        if (e > s) {
          ms += e - s;
          if (e - s > longest.end - longest.start) longest = { start: s, end: e };
        }
      }
    }
    return { ms, longest };
  }
}

function merge(intervals: Array<[number, number]>): Array<[number, number]> {
  const sorted = intervals.slice().sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}
