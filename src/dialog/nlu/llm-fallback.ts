import type { Logger } from 'pino';
import type { DialogConfig } from '../config.ts';
import type { Lang } from '../types.ts';
import type { IntentScore } from './types.ts';

export interface LlmCandidate {
  intent: string;
  description?: string;
  examples: string[];
}

export type LlmIntentOutcome =
  | { kind: 'intent'; result: IntentScore }
  | { kind: 'none' }
  | { kind: 'error'; reason: 'timeout' | 'http' | 'parse' | 'network'; detail: string };

/**
 * Asks an OpenAI-compatible chat endpoint which of the step's intents an unmatched utterance means.
 * It only picks among the given intents, so the flow keeps deciding the next step; any failure or timeout
 * is an outcome, never an exception, and the caller treats it as no match.
 */
export class LlmIntentFallback {
  private readonly cfg: DialogConfig['llm'];
  private readonly log: Logger;

  constructor(cfg: DialogConfig['llm'], log: Logger) {
    this.cfg = cfg;
    this.log = log;
  }

  get enabled(): boolean {
    return this.cfg.enabled;
  }

  async classify(text: string, candidates: LlmCandidate[], lang: Lang): Promise<LlmIntentOutcome> {
    if (!this.cfg.enabled || candidates.length === 0) return { kind: 'none' };
    const list = candidates
      .map((c) => `- ${c.intent}${c.description ? `: ${c.description}` : ''}${c.examples.length ? ` (e.g. ${c.examples.slice(0, 4).join(' / ')})` : ''}`)
      .join('\n');
    const system =
      'You classify one utterance of a caller on a phone call into exactly one intent from a list, or "none". ' +
      'Reply with only a JSON object: {"intent": "<name or none>", "confidence": <0..1>}.';
    const user = `Language: ${lang === 'zh' ? 'Chinese' : 'English'}\nIntents:\n${list}\nUtterance: ${JSON.stringify(text)}`;
    const url = `${this.cfg.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.cfg.apiKey) headers.authorization = `Bearer ${this.cfg.apiKey}`;
    let body: unknown;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        signal: AbortSignal.timeout(this.cfg.timeoutMs),
        body: JSON.stringify({
          model: this.cfg.model,
          temperature: 0,
          max_tokens: 60,
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: user },
          ],
        }),
      });
      if (!res.ok) {
        await res.body?.cancel();
        return this.fail('http', `HTTP ${res.status} from ${url}`);
      }
      body = await res.json();
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError') return this.fail('timeout', `no answer within ${this.cfg.timeoutMs} ms`);
      return this.fail(e instanceof SyntaxError ? 'parse' : 'network', e.message);
    }
    const content = (body as { choices?: Array<{ message?: { content?: unknown } }> })?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') return this.fail('parse', 'response has no choices[0].message.content');
    const json = content.slice(content.indexOf('{'), content.lastIndexOf('}') + 1);
    let parsed: { intent?: unknown; confidence?: unknown };
    try {
      parsed = JSON.parse(json) as { intent?: unknown; confidence?: unknown };
    } catch {
      return this.fail('parse', `not JSON: ${content.slice(0, 80)}`);
    }
    const intent = typeof parsed.intent === 'string' ? parsed.intent.trim() : '';
    if (!candidates.some((c) => c.intent === intent)) return { kind: 'none' };
    const confidence = typeof parsed.confidence === 'number' && parsed.confidence >= 0 && parsed.confidence <= 1 ? parsed.confidence : 0.7;
    return { kind: 'intent', result: { intent, confidence } };
  }

  private fail(reason: 'timeout' | 'http' | 'parse' | 'network', detail: string): LlmIntentOutcome {
    this.log.warn({ reason, detail }, 'LLM intent fallback failed; treating the turn as no match');
    return { kind: 'error', reason, detail };
  }
}
