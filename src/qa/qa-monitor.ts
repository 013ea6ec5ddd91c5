import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { maskText } from '../core/index.ts';
import { estimatedSpeakingMs, type CallObserver, type CallTimelineEvent, type ObservedCall } from '../dialog/index.ts';
import type { NewQaHit, QaStore } from '../store/index.ts';
import { QaCallEvaluation, type QaFinding, type QaRules, type QaUtterance } from './engine.ts';
import { loadQaRules } from './loader.ts';

export type QaHitListener = (hit: NewQaHit) => void;

export interface QaMonitorOptions {
  rules: QaRules;
  store: QaStore;
  log: Logger;
  /** `callpilot_qa_hits_total{rule,severity}` goes here (rule ids are bounded by the rule files). */
  registry?: Registry;
  now?: () => Date;
}

interface CallQa {
  call: ObservedCall;
  evaluation: QaCallEvaluation;
  /** The bot text chosen but not yet on the wire (its recording time is when its first frame plays). */
  pendingBot?: string;
  /** The prompt playing now: its end is set when it finishes or is cut. */
  speaking?: QaUtterance;
  durationMs: number;
  writes: Promise<void>;
}

/**
 * Runs the QA rules on 100 % of calls: live on each caller final and each prompt as it starts playing, and the
 * whole-call rules (disclosures, sequences, silence, talk-over) when the call ends. Every hit is stored with its
 * rule, leg, masked text and time in the recording, counted, and handed to listeners (the live feed).
 */
export class QaMonitor implements CallObserver {
  private readonly calls = new Map<string, CallQa>();
  private readonly listeners = new Set<QaHitListener>();
  private readonly counter?: Counter<'rule' | 'severity'>;
  private readonly now: () => Date;

  constructor(private readonly o: QaMonitorOptions) {
    this.now = o.now ?? (() => new Date());
    if (o.registry) {
      this.counter = new Counter({ name: 'callpilot_qa_hits_total', help: 'QA (质检) rule hits, by rule and severity', labelNames: ['rule', 'severity'], registers: [o.registry] });
    }
  }

  /** Live hits as they are found; returns the unsubscribe function. */
  onHit(listener: QaHitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  callStarted(call: ObservedCall): void {
    const rules = this.o.rules.forCall(call.flow, call.lang);
    if (rules.length === 0) return;
    this.calls.set(call.callId, { call, evaluation: new QaCallEvaluation(rules), durationMs: 0, writes: Promise.resolve() });
  }

  event(callId: string, event: CallTimelineEvent): void {
    const qa = this.calls.get(callId);
    if (!qa) return;
    qa.durationMs = Math.max(qa.durationMs, event.atMs);
    switch (event.type) {
      case 'final':
        if (event.text.trim()) this.record(qa, qa.evaluation.utterance({ leg: 'caller', text: event.text, startMs: event.speechStartMs, endMs: event.speechEndMs }), true);
        break;
      case 'understood':
        if (event.emotion) this.record(qa, qa.evaluation.emotion(event.speechStartMs, event.emotion), true);
        break;
      case 'bot':
        qa.pendingBot = event.text;
        break;
      case 'botAudioStart': {
        if (qa.pendingBot === undefined) break;
        const text = qa.pendingBot;
        qa.pendingBot = undefined;
        // Places a match inside the prompt until its real end is known.
        const estimate = estimatedSpeakingMs(text, qa.call.lang);
        const u: QaUtterance = { leg: 'bot', text, startMs: event.atMs, endMs: event.atMs + estimate };
        qa.speaking = u;
        this.record(qa, qa.evaluation.utterance(u), true);
        break;
      }
      case 'bargeIn':
        // The caller was already talking for `stopMs` when the bot stopped: that is talk-over, even when the
        // VAD's own speech start for the utterance comes later.
        qa.evaluation.speech('caller', Math.max(0, event.atMs - event.stopMs), event.atMs);
        if (qa.speaking) {
          qa.speaking.endMs = Math.max(qa.speaking.startMs, event.atMs);
          qa.speaking = undefined;
        }
        break;
      case 'botAudioEnd':
        if (qa.speaking) {
          qa.speaking.endMs = Math.max(qa.speaking.startMs, event.atMs);
          qa.speaking = undefined;
        }
        break;
      default:
        break;
    }
  }

  async callEnded(callId: string): Promise<void> {
    const qa = this.calls.get(callId);
    if (!qa) return;
    this.calls.delete(callId);
    if (qa.speaking) qa.speaking.endMs = Math.max(qa.speaking.startMs, Math.min(qa.speaking.endMs, qa.durationMs));
    this.record(qa, qa.evaluation.finish(qa.durationMs), false);
    await qa.writes;
  }

  private record(qa: CallQa, findings: QaFinding[], live: boolean): void {
    if (findings.length === 0) return;
    const at = this.now().toISOString();
    const hits: NewQaHit[] = findings.map((f) => ({ ...f, text: maskText(f.text).slice(0, 4000), callId: qa.call.callId, flow: qa.call.flow, live, at }));
    for (const hit of hits) {
      this.counter?.inc({ rule: hit.ruleId, severity: hit.severity });
      this.o.log.info({ callId: hit.callId, rule: hit.ruleId, severity: hit.severity, leg: hit.leg, atMs: hit.atMs, live }, 'QA hit');
      for (const listener of this.listeners) {
        try {
          listener(hit);
        } catch (err) {
          this.o.log.warn({ err, callId: hit.callId }, 'QA hit listener failed');
        }
      }
    }
    // Writes of one call stay in order; a failed write is logged with the hits so nothing is silently lost.
    qa.writes = qa.writes
      .then(() => this.o.store.addHits(hits))
      .catch((err: unknown) => this.o.log.error({ err, callId: qa.call.callId, hits: hits.map((h) => h.ruleId) }, 'storing QA hits failed'));
  }
}

/**
 * The monitor the config asks for: rules from `qa.rulesDir` (a missing folder: no rules, said in the log; a bad
 * file: startup fails with every problem and its line, as flows do), or undefined when QA is off or has no rules.
 */
export function createQaMonitor(
  config: { enabled: boolean; rulesDir: string },
  deps: { cwd: string; store: { qa: QaStore }; metrics: { registry: Registry }; log: Logger },
): QaMonitor | undefined {
  if (!config.enabled) return undefined;
  const dir = resolve(deps.cwd, config.rulesDir);
  if (!existsSync(dir)) {
    deps.log.warn({ rulesDir: dir }, 'no QA rules folder: calls are not checked by QA rules');
    return undefined;
  }
  const rules = loadQaRules([dir]);
  deps.log.info({ rulesDir: dir, rules: rules.size }, 'QA rules loaded');
  return new QaMonitor({ rules, store: deps.store.qa, registry: deps.metrics.registry, log: deps.log.child({ component: 'qa' }) });
}
