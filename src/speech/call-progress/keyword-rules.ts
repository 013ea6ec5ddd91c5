import type { AmdKind, CallProgressKind, Lang } from '../../core/index.ts';

/**
 * Phrases that decide a verdict from a transcript. Chinese carriers (China Mobile, Unicom, Telecom) read fixed
 * announcements; the phrases below are their stable cores, so an ASR that drops or confuses a character elsewhere
 * still matches. Order matters: the first rule that matches wins, so narrower phrases come first.
 */
export interface KeywordRule<K extends string> {
  kind: K;
  /** Matched against the normalised transcript: zh without spaces or punctuation, en lower-case single-spaced. */
  phrases: readonly string[];
}

export const PROGRESS_RULES: Readonly<Record<Lang, readonly KeywordRule<Exclude<CallProgressKind, 'answered' | 'no_answer' | 'rejected'>>[]>> = {
  zh: [
    { kind: 'invalid_number', phrases: ['空号', '不存在', '号码有误', '查证后再拨', '未启用', '号码错误'] },
    { kind: 'suspended', phrases: ['停机', '已暂停服务', '欠费'] },
    { kind: 'powered_off', phrases: ['关机'] },
    { kind: 'busy', phrases: ['正在通话中', '通话中', '用户忙', '正忙'] },
    { kind: 'unreachable', phrases: ['无法接通', '不在服务区', '暂时无法', '无人接听', '稍后再拨'] },
  ],
  en: [
    { kind: 'invalid_number', phrases: ['not in service', 'does not exist', 'is not a working number', 'has been disconnected', 'check the number'] },
    { kind: 'suspended', phrases: ['suspended', 'temporarily barred', 'has been barred'] },
    { kind: 'powered_off', phrases: ['switched off', 'powered off', 'turned off'] },
    { kind: 'busy', phrases: ['is busy', 'on another call', 'line is engaged'] },
    { kind: 'unreachable', phrases: ['cannot be reached', 'can not be reached', 'not reachable', 'out of coverage', 'unavailable', 'cannot be completed'] },
  ],
};

export const AMD_RULES: Readonly<Record<Lang, readonly KeywordRule<Exclude<AmdKind, 'human' | 'unknown'>>[]>> = {
  zh: [
    { kind: 'assistant', phrases: ['智能助理', '智能助手', '语音助理', '语音助手', '机主的助理', '机主助理', '来电助理', '秘书', '代接', '我是机主', '转告机主', '请问您有什么事'] },
    { kind: 'machine', phrases: ['留言', '语音信箱', '提示音后', '嘀声后', '哔声后', '录音后', '无法接听您的电话', '不方便接听'] },
  ],
  en: [
    { kind: 'assistant', phrases: ['assistant', 'screening', 'state your name', 'say your name', 'what you are calling about', 'reason for your call', 'call screen'] },
    { kind: 'machine', phrases: ['leave a message', 'leave your message', 'after the tone', 'after the beep', 'voicemail', 'voice mail', 'not available', 'record your message', 'mailbox'] },
  ],
};

const HAN = /\p{Script=Han}/gu;
const NOT_WORD = /[^\p{L}\p{N}\s']/gu;

/** zh: Han characters and other letters only (spaces and punctuation dropped); en: lower-case words, single-spaced. */
export function normalizeTranscript(text: string, lang: Lang): string {
  if (lang === 'zh') return text.replace(NOT_WORD, '').replace(/\s+/g, '').toLowerCase();
  return ' ' + text.toLowerCase().replace(NOT_WORD, ' ').replace(/\s+/g, ' ').trim() + ' ';
}

/** Spoken length: Han characters for Chinese (no spaces between words), whitespace words otherwise. */
export function spokenUnits(text: string, lang: Lang): number {
  if (lang === 'zh') {
    const han = text.match(HAN)?.length ?? 0;
    // Latin words mixed into Chinese speech count one each.
    const latin = text.replace(HAN, ' ').trim().split(/[^\p{L}\p{N}]+/u).filter(Boolean).length;
    return han + latin;
  }
  return text.trim().split(/\s+/).filter(Boolean).length;
}

/** The first rule matching the transcript, with the phrase that matched. */
export function matchRules<K extends string>(
  text: string,
  lang: Lang,
  rules: Readonly<Record<Lang, readonly KeywordRule<K>[]>>,
): { kind: K; phrase: string } | undefined {
  const norm = normalizeTranscript(text, lang);
  if (norm.trim() === '') return undefined;
  for (const rule of rules[lang]) {
    for (const phrase of rule.phrases) {
      const needle = lang === 'zh' ? phrase : ` ${phrase} `;
      if (norm.includes(needle)) return { kind: rule.kind, phrase };
    }
  }
  return undefined;
}
