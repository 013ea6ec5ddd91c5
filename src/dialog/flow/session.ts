import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AnswerKind } from '../../speech/index.ts';
import type { BotAction, CallContext, DialogEvent, DialogSession, TurnInput, TurnUnderstanding } from '../types.ts';
import { addDaysIso, extractSlots, normalizeUtterance, todayIn, type LlmIntentFallback, type NluResult, type SlotName, type Slots } from '../nlu/index.ts';
import { isWaitingStep } from './check.ts';
import type { DoNotCallDefinition, GlobalHandler, RetryDefinition, StepDefinition, TextDefinition, Transition } from './schema.ts';
import { renderTemplate } from './template.ts';
import type { CompiledFlow, DoNotCallRecorder } from './types.ts';
import { callWebhook, chooseBranch, jsonPath, type FetchLike } from './webhook.ts';

export interface FlowSessionOptions {
  flow: CompiledFlow;
  ctx: CallContext;
  log: Logger;
  now: () => Date;
  llm?: LlmIntentFallback;
  fetch?: FetchLike;
  /** The DNC ledger for `do_not_call` steps. */
  doNotCall?: DoNotCallRecorder;
  /** Each no-input / no-match retry (metrics by flow and language). */
  onRetry?: (kind: 'no_input' | 'no_match', flow: string, lang: string) => void;
}

/** What the caller said or pressed in the turn being handled: fills `{{input.*}}` and `{{slot.*}}`. */
interface TurnFacts {
  text: string;
  digits: string;
  intent: string;
  slots: Slots;
}

type RetryKind = 'no_input' | 'no_match';

const maxHops = 32;

/** Everything `next()` may change, as it was before the latest speech input: what `revise()` goes back to. */
interface SessionState {
  current: string | undefined;
  currentPrompt: BotAction | undefined;
  retries: Record<RetryKind, number>;
  turns: number;
  finalAction: BotAction | undefined;
  facts: TurnFacts;
  vars: Record<string, string>;
  learned: Record<string, string>;
  visits: Map<string, number>;
  transcriptLength: number;
}
const emptyFacts: TurnFacts = { text: '', digits: '', intent: '', slots: {} };

/**
 * One call walking one flow version. The flow decides every next step; NLU (and the optional LLM) only name
 * the caller's intent. Keeps the compiled flow it was created with, so a reload never changes a live call.
 */
export class FlowDialogSession implements DialogSession {
  private readonly flow: CompiledFlow;
  private readonly ctx: CallContext;
  private readonly log: Logger;
  private readonly o: FlowSessionOptions;
  private vars: Record<string, string>;
  /** Variables the flow set or learned, returned by variables() to store with the call. */
  private learned: Record<string, string> = {};
  private visits = new Map<string, number>();
  private readonly transcript: string[] = [];
  private current: string | undefined;
  private currentPrompt: BotAction | undefined;
  private retries: Record<RetryKind, number> = { no_input: 0, no_match: 0 };
  private turns = 0;
  private finalAction: BotAction | undefined;
  private facts: TurnFacts = emptyFacts;
  private understood: TurnUnderstanding | undefined;
  /** The state before the latest speech input, while its answer has had no effect outside the call. */
  private beforeLastSpeech: SessionState | undefined;

  constructor(o: FlowSessionOptions) {
    this.o = o;
    this.flow = o.flow;
    this.ctx = o.ctx;
    this.log = o.log.child({ callId: o.ctx.callId, flow: o.flow.name, flowVersion: o.flow.version });
    const defaults: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.flow.definition.variables)) if (v.default !== undefined) defaults[k] = v.default;
    this.vars = { ...defaults, ...o.ctx.variables };
    const missing = Object.entries(this.flow.definition.variables).filter(([k, v]) => v.required && !(k in this.vars)).map(([k]) => k);
    if (missing.length > 0) this.log.warn({ missing }, 'call lacks required flow variables; their templates render empty');
    this.setLearned('flow', this.flow.name);
    this.setLearned('flow_version', this.flow.version);
  }

  async begin(): Promise<BotAction> {
    return this.enter(this.flow.definition.start, []);
  }

  branch(event: DialogEvent): Promise<BotAction> | undefined {
    const target = event === 'assistant' ? this.flow.definition.assistant : undefined;
    if (this.finalAction || !target || !('goto' in target)) return undefined;
    this.log.info({ event, step: target.goto }, 'dialog branch');
    // The branch supersedes whatever the last turn led to: that turn can no longer be taken back.
    this.beforeLastSpeech = undefined;
    this.transcript.push(`(${event} answered)`);
    this.setLearned('answered_by', event);
    return this.enter(target.goto, target.say ? [this.pickText(target.say, 0)] : []);
  }

  async next(input: TurnInput): Promise<BotAction> {
    this.understood = undefined;
    this.beforeLastSpeech = input.kind === 'speech' && !this.finalAction ? this.saveState() : undefined;
    if (this.finalAction) return this.finalAction;
    const step = this.currentStep();
    if (!step || this.current === undefined) return this.finish({ kind: 'end', disposition: 'error' }, 'no current step');
    this.turns++;
    if (this.turns > this.flow.definition.settings.max_turns) {
      this.log.info({ turns: this.turns }, 'max turns reached');
      const fb = this.flow.definition.fallback;
      return fb ? this.enter(fb, []) : this.finish({ kind: 'end', disposition: 'max_turns' }, 'max turns');
    }
    if (input.kind === 'noInput') {
      this.transcript.push('caller: (silence)');
      return this.retry('no_input');
    }
    if (input.kind === 'dtmf') {
      this.transcript.push(`caller: [DTMF ${input.digits}]`);
      const intent = this.dtmfIntent(step, input.digits);
      if (!intent) return this.retry('no_match');
      const n = Number(input.digits);
      this.facts = { text: input.digits, digits: input.digits, intent, slots: Number.isFinite(n) ? { number: n, digits: input.digits } : { digits: input.digits } };
      this.understood = { intent, confidence: 1, slots: slotText(this.facts.slots) };
      return this.handleIntent(step, intent);
    }
    const text = input.text.trim();
    if (text.length === 0) {
      // The caller spoke and the recognizer made nothing of it: not silence, an answer not understood.
      this.transcript.push('caller: (speech not recognized)');
      return this.retry('no_match');
    }
    this.transcript.push(`caller: ${text}`);
    const nlu = this.classify(step, text);
    this.facts = { text, digits: nlu.slots.digits ?? '', intent: nlu.intent ?? '', slots: nlu.slots };
    this.setLearned('last_emotion', nlu.emotion.label);
    this.understood = { intent: nlu.intent, confidence: nlu.confidence, slots: slotText(nlu.slots), emotion: { label: nlu.emotion.label, score: nlu.emotion.score } };

    // A caller who asks never to be called again (often angrily: 别再打了！我要投诉) is recorded, not transferred.
    if (nlu.intent === 'stop_calling' && (step.on?.stop_calling || this.flow.definition.globals.stop_calling)) return this.handleIntent(step, nlu.intent, nlu);
    const emotion = nlu.emotion.label;
    if (emotion !== 'neutral' && nlu.emotion.score >= 0.6) {
      const t = step.on_emotion?.[emotion] ?? this.flow.definition.emotions[emotion];
      if (t) {
        this.log.info({ emotion, score: nlu.emotion.score }, 'emotion transition');
        return this.transition(t);
      }
    }
    if (nlu.intent === 'yes' && this.doubtfulConsent(step, nlu, input.confidence)) return this.retry('no_match');
    if (nlu.intent) return this.handleIntent(step, nlu.intent, nlu);
    if (step.on?.any) {
      this.facts = { ...this.facts, intent: 'any' };
      return this.transition(step.on.any);
    }
    const llmIntent = await this.askLlm(step, text);
    if (llmIntent) {
      this.facts = { ...this.facts, intent: llmIntent };
      this.understood = { ...this.understood!, intent: llmIntent };
      return this.handleIntent(step, llmIntent);
    }
    return this.retry('no_match');
  }

  revisable(): boolean {
    return this.beforeLastSpeech !== undefined;
  }

  revise(input: TurnInput): Promise<BotAction> | undefined {
    const before = this.beforeLastSpeech;
    if (!before) return undefined;
    this.log.info({ step: before.current }, 'caller went on after the turn was taken: deciding again on the whole turn');
    this.restoreState(before);
    return this.next(input);
  }

  expectedAnswers(): string[] {
    const step = this.currentStep();
    if (!step || this.finalAction) return [];
    const phrases = new Set<string>();
    for (const intent of this.candidates(step)) {
      if (intent === 'any') continue;
      for (const p of this.flow.classifier.phrasesOf(intent)) phrases.add(p);
    }
    return [...phrases];
  }

  expectedKind(): AnswerKind {
    const step = this.currentStep();
    if (!step || this.finalAction) return 'unknown';
    const own = Object.keys(step.on ?? {});
    const slots = this.stepSlots(step);
    if (slots.has('date')) return 'date';
    if (slots.has('amount')) return 'amount';
    if (slots.has('digits')) return 'digits';
    if (slots.has('number')) return 'number';
    if (own.includes('yes') || own.includes('no')) return 'yesNo';
    if (own.includes('any')) return 'free';
    return own.length > 0 ? 'choice' : 'unknown';
  }

  valueCheck(): ((text: string) => boolean) | undefined {
    const step = this.currentStep();
    if (!step || this.finalAction) return undefined;
    const wanted = this.stepSlots(step);
    if (wanted.size === 0) return undefined;
    const lang = this.flow.lang;
    const timeZone = this.flow.definition.settings.timezone;
    return (text) => {
      if (text.trim() === '') return false;
      const slots = extractSlots(normalizeUtterance(text, lang), lang, this.o.now(), timeZone);
      for (const name of wanted) if (slots[name] !== undefined) return true;
      return false;
    };
  }

  /**
   * The slots the step's own intents ask for. A date and a time go together: a step asking for either takes the
   * other as an answer (明天下午, or 下午三点 alone), and is a date step to the end of turn.
   */
  private stepSlots(step: StepDefinition): Set<SlotName> {
    const slots = new Set<SlotName>();
    for (const intent of Object.keys(step.on ?? {})) {
      const slot = this.flow.classifier.definition(intent)?.slot?.name;
      if (slot) slots.add(slot);
    }
    if (slots.has('date') || slots.has('time')) slots.add('date').add('time');
    return slots;
  }

  variables(): Record<string, string> {
    return { ...this.learned };
  }

  understanding(): TurnUnderstanding | undefined {
    return this.understood;
  }

  private saveState(): SessionState {
    return {
      current: this.current,
      currentPrompt: this.currentPrompt,
      retries: { ...this.retries },
      turns: this.turns,
      finalAction: this.finalAction,
      facts: this.facts,
      vars: { ...this.vars },
      learned: { ...this.learned },
      visits: new Map(this.visits),
      transcriptLength: this.transcript.length,
    };
  }

  private restoreState(s: SessionState): void {
    this.current = s.current;
    this.currentPrompt = s.currentPrompt;
    this.retries = { ...s.retries };
    this.turns = s.turns;
    this.finalAction = s.finalAction;
    this.facts = s.facts;
    this.vars = { ...s.vars };
    this.learned = { ...s.learned };
    this.visits = new Map(s.visits);
    this.transcript.length = s.transcriptLength;
    this.understood = undefined;
    this.beforeLastSpeech = undefined;
  }

  // ---- turn handling ------------------------------------------------------------------------------------------

  /** Step intents first (they win ties), then the flow's global intents. */
  private candidates(step: StepDefinition): string[] {
    const own = Object.keys(step.on ?? {});
    const globals = Object.keys(this.flow.definition.globals).filter((g) => !own.includes(g));
    return [...own, ...globals];
  }

  private classify(step: StepDefinition, text: string): NluResult {
    const settings = this.flow.definition.settings;
    const result = this.flow.classifier.classify(text, this.candidates(step), {
      now: this.o.now(),
      timeZone: settings.timezone,
      threshold: settings.confidence_threshold,
    });
    this.log.debug({ text, intent: result.intent, confidence: result.confidence, slots: result.slots, emotion: result.emotion.label }, 'nlu');
    return result;
  }

  private doubtfulConsent(step: StepDefinition, nlu: NluResult, asrConfidence: number | undefined): boolean {
    const min = this.flow.definition.settings.consent_min_confidence;
    const opensClearly = this.flow.classifier.opensClearly('yes', nlu.normalized);
    const doubtful = isDoubtfulConsent(step, nlu, asrConfidence, min, opensClearly);
    if (doubtful) this.log.info({ approximate: nlu.ranked[0]?.approximate, asrConfidence, opensClearly }, 'doubtful consent: asking again');
    return doubtful;
  }

  private async askLlm(step: StepDefinition, text: string): Promise<string | undefined> {
    const llm = this.o.llm;
    if (!llm?.enabled || !this.flow.definition.settings.llm_fallback) return undefined;
    const candidates = this.candidates(step)
      .filter((c) => c !== 'any')
      .map((intent) => {
        const def = this.flow.classifier.definition(intent);
        return { intent, description: def?.description, examples: def?.keywords.slice(0, 4) ?? [] };
      });
    const outcome = await llm.classify(text, candidates, this.flow.lang);
    if (outcome.kind !== 'intent') return undefined;
    if (outcome.result.confidence < this.flow.definition.settings.confidence_threshold) return undefined;
    this.log.info({ intent: outcome.result.intent, confidence: outcome.result.confidence }, 'LLM fallback named the intent');
    return outcome.result.intent;
  }

  private dtmfIntent(step: StepDefinition, digits: string): string | undefined {
    const map = step.dtmf;
    if (!map) return undefined;
    const exact = map[digits];
    if (exact) return exact;
    if (digits.length === 1) {
      for (const [key, intent] of Object.entries(map)) {
        const range = /^([0-9])-([0-9])$/.exec(key);
        if (range && digits >= range[1]! && digits <= range[2]!) return intent;
      }
    }
    return undefined;
  }

  private async handleIntent(step: StepDefinition, intent: string, nlu?: NluResult): Promise<BotAction> {
    this.setLearned('last_intent', intent);
    if (nlu) this.log.info({ intent, confidence: nlu.confidence }, 'intent');
    const t = step.on?.[intent];
    if (t) return this.transition(t);
    const g = this.flow.definition.globals[intent];
    if (g) return this.handleGlobal(g);
    return this.retry('no_match');
  }

  private async handleGlobal(g: GlobalHandler): Promise<BotAction> {
    this.applySet(g.set);
    if (g.goto) return this.enter(g.goto, g.say ? [this.pickText(g.say, 0)] : []);
    if (g.repeat) return this.reprompt([]);
    return this.reprompt(g.say ? [this.pickText(g.say, this.turns)] : []);
  }

  private async transition(t: Transition): Promise<BotAction> {
    if (typeof t === 'string') return this.enter(t, []);
    this.applySet(t.set);
    return this.enter(t.goto, t.say ? [this.pickText(t.say, this.turns)] : []);
  }

  private async retry(kind: RetryKind): Promise<BotAction> {
    const step = this.currentStep();
    if (!step) return this.finish({ kind: 'end', disposition: 'error' }, 'no current step');
    const def = this.flow.definition;
    const cfg: RetryDefinition | undefined = step[kind] ?? def.defaults[kind];
    this.retries[kind]++;
    this.o.onRetry?.(kind, this.flow.name, this.flow.lang);
    const attempt = this.retries[kind];
    if (cfg && attempt <= cfg.retries) {
      const lead = cfg.say ? [this.pickText(cfg.say, attempt - 1)] : [];
      return cfg.reprompt || lead.length === 0 ? this.reprompt(lead) : this.say(lead, step, false);
    }
    const target = cfg?.goto ?? def.fallback;
    if (target) return this.enter(target, []);
    return this.finish({ kind: 'end', disposition: kind === 'no_input' ? 'no_answer' : 'no_match' }, `${kind} retries exhausted`);
  }

  /** Says `lead` and then the current step's prompt again, staying in the step. */
  private reprompt(lead: string[]): BotAction {
    const step = this.currentStep()!;
    const prompt = this.currentPrompt;
    const texts = prompt && prompt.kind === 'say' ? [...lead, prompt.text] : lead;
    const action = this.say(texts, step, lead.length === 0);
    return action;
  }

  // ---- entering steps -------------------------------------------------------------------------------------------

  /** Runs steps from `name` on (set, callback, webhook, goto) until one waits for the caller or ends the call. */
  private async enter(name: string, texts: string[]): Promise<BotAction> {
    let stepName = name;
    for (let hop = 0; hop < maxHops; hop++) {
      const step = this.flow.definition.steps[stepName];
      if (!step) return this.finish({ kind: 'end', text: this.join(texts), disposition: 'error' }, `unknown step ${stepName}`);
      const visit = (this.visits.get(stepName) ?? 0) + 1;
      this.visits.set(stepName, visit);
      this.setLearned('last_step', stepName);
      this.applySet(step.set);
      if (step.callback) this.scheduleCallback(step.callback);
      // The ledger and a webhook are outside the call: an answer that reached them cannot be taken back.
      if (step.do_not_call) {
        this.beforeLastSpeech = undefined;
        await this.recordDoNotCall(stepName, step.do_not_call);
      }
      const ownText = step.say ? this.pickText(step.say, visit - 1) : undefined;
      if (ownText) texts.push(ownText);

      if (step.webhook) {
        this.beforeLastSpeech = undefined;
        stepName = await this.runWebhook(step);
        continue;
      }
      if (step.end !== undefined) {
        this.setLearned('disposition', step.end);
        return this.finish({ kind: 'end', text: this.join(texts) || undefined, disposition: step.end }, `end ${step.end}`);
      }
      if (step.transfer) {
        const reason = step.transfer.reason;
        this.setLearned('disposition', 'transferred');
        this.setLearned('transfer_reason', reason);
        this.setLearned('transfer_transcript', this.transcript.slice(-20).join('\n'));
        const target = step.transfer.target ? this.render(step.transfer.target) : undefined;
        return this.finish({ kind: 'transfer', text: this.join(texts) || undefined, reason, ...(target ? { target } : {}) }, `transfer ${reason}`);
      }
      if (step.goto) {
        stepName = step.goto;
        continue;
      }
      if (isWaitingStep(step)) {
        this.current = stepName;
        this.retries = { no_input: 0, no_match: 0 };
        this.currentPrompt = ownText ? { kind: 'say', text: ownText } : undefined;
        return this.say(texts, step, texts.length === 1 && ownText !== undefined);
      }
      return this.finish({ kind: 'end', text: this.join(texts), disposition: 'error' }, `step ${stepName} does nothing`);
    }
    return this.finish({ kind: 'end', text: this.join(texts), disposition: 'error' }, 'too many goto hops');
  }

  private say(texts: string[], step: StepDefinition, onlyOwnPrompt: boolean): BotAction {
    const text = this.join(texts);
    this.transcript.push(`bot: ${text}`);
    const action: BotAction = { kind: 'say', text };
    // A recording replaces TTS only when it is all that is said (not after an answer or retry text).
    if (step.audio && onlyOwnPrompt) action.audioFile = resolve(this.flow.baseDir, step.audio);
    if (step.barge_in !== undefined) action.bargeIn = step.barge_in;
    return action;
  }

  private finish(action: BotAction, why: string): BotAction {
    if (action.kind !== 'say' && action.text) this.transcript.push(`bot: ${action.text}`);
    if (action.kind === 'end') this.setLearned('disposition', action.disposition);
    this.finalAction = action;
    this.log.info({ action: action.kind, why }, 'flow finished');
    return action;
  }

  private async runWebhook(step: StepDefinition): Promise<string> {
    const hook = step.webhook!;
    const fetchImpl = this.o.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
    const renderAll = (r: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, this.render(v)]));
    const outcome = await callWebhook(hook, { url: this.render(hook.url), headers: renderAll(hook.headers), body: hook.body ? renderAll(hook.body) : undefined }, fetchImpl);
    this.setLearned('webhook_status', outcome.kind);
    if (outcome.kind !== 'ok') {
      this.log.warn({ url: hook.url, outcome }, 'webhook failed; taking on_error');
      return hook.on_error;
    }
    for (const [name, path] of Object.entries(hook.save)) {
      const v = jsonPath(outcome.json, path);
      if (v !== undefined && v !== null) this.setVar(name, typeof v === 'object' ? JSON.stringify(v) : String(v));
    }
    return chooseBranch(hook, outcome.json) ?? hook.on_error;
  }

  /**
   * Puts the number on the DNC ledger before the call goes on, so a campaign claiming it a moment later (another
   * campaign, another node) is already refused. Never throws: a ledger failure is logged loudly and kept in the call's
   * variables (`do_not_call` = `failed`) so the stored call still shows the refusal was heard.
   */
  private async recordDoNotCall(stepName: string, action: DoNotCallDefinition): Promise<void> {
    if (this.learned.do_not_call === 'recorded') return;
    const words = this.lastCallerWords();
    const campaignId = this.ctx.variables.campaign_id;
    const number = this.ctx.variables.contact_number ?? (this.ctx.direction === 'outbound' ? this.ctx.to : this.ctx.from);
    this.setLearned('do_not_call_words', words);
    if (!number) {
      this.setLearned('do_not_call', 'no_number');
      this.log.warn({ step: stepName }, 'refusal heard but the call has no number to put on the do-not-call list');
      return;
    }
    // "Not interested" in one campaign says nothing about the others, nor about calls outside any campaign.
    if (action.scope === 'campaign' && !campaignId) {
      this.setLearned('do_not_call', 'no_campaign');
      this.log.info({ step: stepName }, 'campaign-scoped refusal heard on a call outside any campaign: nothing to record');
      return;
    }
    const recorder = this.o.doNotCall;
    if (!recorder) {
      this.setLearned('do_not_call', 'not_recorded');
      this.log.warn({ step: stepName }, 'refusal heard but no do-not-call ledger is wired to flows');
      return;
    }
    const scope = action.scope;
    try {
      await recorder({ callId: this.ctx.callId, number, scope, campaignId, reason: action.reason, words, flow: this.flow.name, step: stepName });
      this.setLearned('do_not_call', 'recorded');
      this.log.info({ step: stepName, scope }, 'refusal recorded on the do-not-call ledger');
    } catch (err) {
      this.setLearned('do_not_call', 'failed');
      this.log.error({ err, step: stepName, scope }, 'recording the refusal on the do-not-call ledger failed');
    }
  }

  private lastCallerWords(): string {
    for (let i = this.transcript.length - 1; i >= 0; i--) {
      const line = this.transcript[i]!;
      if (line.startsWith('caller: ')) return line.slice('caller: '.length);
    }
    return '';
  }

  /** Callback time from the caller's words (slots of this turn), else a default delay. */
  private scheduleCallback(cfg: NonNullable<StepDefinition['callback']>): void {
    const tz = this.flow.definition.settings.timezone;
    const now = this.o.now();
    let date = this.facts.slots.date;
    let time = this.facts.slots.time ?? cfg.default_time;
    if (!date && !time) {
      const later = new Date(now.getTime() + cfg.default_in_hours * 3600_000);
      date = todayIn(later, tz);
      time = clockIn(later, tz);
    } else if (!date) {
      const today = todayIn(now, tz);
      date = time! > clockIn(now, tz) ? today : addDaysIso(today, 1);
    }
    time ??= '10:00';
    this.setVar('callback_date', date!);
    this.setVar('callback_time', time);
    this.setVar('callback_at', `${date}T${time}`);
  }

  // ---- variables and text ---------------------------------------------------------------------------------------

  private applySet(set: Record<string, string> | undefined): void {
    if (!set) return;
    for (const [k, v] of Object.entries(set)) this.setVar(k, this.render(v));
  }

  private setVar(name: string, value: string): void {
    this.vars[name] = value;
    this.learned[name] = value;
  }

  private setLearned(name: string, value: string): void {
    this.learned[name] = value;
  }

  private lookup = (name: string): string | undefined => {
    if (name.startsWith('slot.')) {
      const v = this.facts.slots[name.slice(5) as keyof Slots];
      return v === undefined ? undefined : String(v);
    }
    if (name === 'input.text') return this.facts.text;
    if (name === 'input.digits') return this.facts.digits;
    if (name === 'input.intent') return this.facts.intent;
    if (name === 'today') return todayIn(this.o.now(), this.flow.definition.settings.timezone);
    if (name === 'caller_number') return this.ctx.direction === 'outbound' ? this.ctx.to : this.ctx.from;
    return this.vars[name];
  };

  private render(text: string): string {
    return renderTemplate(text, this.flow.lang, this.lookup);
  }

  /** Alternatives vary with the visit (or attempt) number, deterministically, so tests and replays agree. */
  private pickText(t: TextDefinition, index: number): string {
    const list = typeof t === 'string' ? [t] : t;
    return this.render(list[index % list.length] ?? '');
  }

  private join(texts: string[]): string {
    const parts = texts.filter((t) => t.length > 0);
    return this.flow.lang === 'zh' ? parts.join('') : parts.join(' ');
  }

  private currentStep(): StepDefinition | undefined {
    return this.current === undefined ? undefined : this.flow.definition.steps[this.current];
  }
}

const clockFormatters = new Map<string, Intl.DateTimeFormat>();

function clockIn(at: Date, timeZone: string): string {
  let f = clockFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    clockFormatters.set(timeZone, f);
  }
  return f.format(at);
}

/**
 * A yes in a step where the caller could also refuse, heard only as a sound-alike, with low recognizer confidence,
 * or not said the way consent is given (`opensClearly`: the answer opens with it and holds no other negation; a
 * model without token confidences gives no other sign of a misheard sentence): asking again costs a turn, reading a
 * refusal as consent costs the call (and a complaint).
 */
export function isDoubtfulConsent(
  step: Pick<StepDefinition, 'on'>,
  nlu: NluResult,
  asrConfidence: number | undefined,
  minConfidence: number,
  opensClearly: boolean,
): boolean {
  if (nlu.intent !== 'yes') return false;
  const on = step.on ?? {};
  if (!('no' in on || 'not_interested' in on || 'stop_calling' in on)) return false;
  return !opensClearly || nlu.ranked[0]?.approximate === true || (asrConfidence !== undefined && asrConfidence < minConfidence);
}

/** Slots as text, for storage and display (numbers as the NLU read them). */
function slotText(slots: Slots): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(slots)) if (v !== undefined) out[k] = String(v);
  return out;
}
