/** Speaking rates (ms per character) for when a prompt's real length is not known yet (synthesis still streaming). */
const MS_PER_CHAR = { zh: 230, en: 65 } as const;

/** About how long speaking `text` takes, from a typical TTS rate in the call's language. */
export function estimatedSpeakingMs(text: string, lang: string): number {
  return [...text].length * (lang === 'en' ? MS_PER_CHAR.en : MS_PER_CHAR.zh);
}

/**
 * The part of a prompt's text the caller heard before cutting in: the share of its characters that `heardMs` is
 * of the whole prompt (`promptMs`), or of a speaking-rate estimate when the prompt's length is not known yet.
 * Approximate by nature (TTS does not speak characters at an even rate), never longer than the text.
 */
export function heardPart(text: string, heardMs: number, promptMs: number | undefined, lang: string): string {
  const chars = [...text];
  if (chars.length === 0 || heardMs <= 0) return '';
  const totalMs = promptMs !== undefined && promptMs > 0 ? promptMs : estimatedSpeakingMs(text, lang);
  const share = Math.min(1, heardMs / totalMs);
  return chars.slice(0, Math.round(chars.length * share)).join('');
}
