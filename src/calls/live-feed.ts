import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { maskValue } from '../core/index.ts';
import { heardPart, type CallObserver, type CallTimelineEvent, type ObservedCall, type TurnUnderstanding } from '../dialog/index.ts';
import type { NewQaHit } from '../store/index.ts';

/** A call as the live feed announces it (numbers unmasked here; each subscriber gets its own masking). */
export interface LiveCallSummary {
  pbx: string;
  direction: 'inbound' | 'outbound';
  flow?: string;
  lang: string;
  from?: string;
  to?: string;
  startedAt: string;
}

/** A QA hit as the live feed carries it (its call is the message's `callId`). */
export type LiveQaHit = Omit<NewQaHit, 'callId' | 'flow' | 'at'>;

/**
 * What subscribers receive, one JSON object per message. Times `atMs` are on the call's audio clock (ms from its
 * first caller frame, the recording's timeline). Both legs: `final` is what the caller said; `bot` is the prompt
 * the bot chose, `bot.spoken` when its first frame went on the wire (with the turn's latency), and `bot.heard`
 * what the caller actually heard of it: all of it, or the part before a barge-in cut it (`cut: true`; a prompt that
 * resumes after a false barge-in gets a second `bot.heard`, the last one counts).
 */
export type LiveMessageBody =
  /** The calls running now, by call id (first message of a whole-node subscription). */
  | { type: 'snapshot'; calls: Record<string, LiveCallSummary> }
  | { type: 'call.started'; call: LiveCallSummary }
  | { type: 'call.ended'; disposition: string; endedBy: string }
  | { type: 'speech.start'; leg: 'caller'; atMs: number }
  | { type: 'partial'; leg: 'caller'; text: string; atMs: number }
  | { type: 'final'; leg: 'caller'; text: string; startMs: number; endMs: number; atMs: number; confidence?: number; waitMs?: number }
  | { type: 'dtmf'; leg: 'caller'; digits: string; atMs: number }
  | { type: 'noInput'; atMs: number }
  /** `turn`: the turn's number (its `seq` in the stored call). */
  | ({ type: 'understood'; atMs: number; turn: number; speechStartMs?: number } & TurnUnderstanding)
  | { type: 'bot'; leg: 'bot'; text: string; atMs: number; bargeIn: boolean }
  | { type: 'bot.spoken'; leg: 'bot'; text: string; atMs: number; latencyMs?: number }
  | { type: 'bot.heard'; leg: 'bot'; text: string; heardText: string; heardMs?: number; atMs: number; cut: boolean }
  | { type: 'resume'; atMs: number; reason: string }
  /** The caller went on with turn `turn` after a pause: its answer was taken back; `text` is the whole turn. */
  | { type: 'turn.continued'; atMs: number; turn: number; text: string }
  | { type: 'qa.hit'; hit: LiveQaHit }
  /** Sent to one subscriber only: this many messages (partials) were dropped because it read too slowly. */
  | { type: 'gap'; dropped: number };

export type LiveMessageType = LiveMessageBody['type'];

/** `seq` increases over the whole feed (a subscriber sees gaps where it was filtered or dropped). */
export type LiveMessage = LiveMessageBody & { seq: number; at: string; callId?: string };

/** Why the feed closed a subscription. */
export type LiveCloseReason = 'ended' | 'slow_consumer' | 'shutdown';

/** One subscriber's transport (a WebSocket, an SSE response). */
export interface LiveSink {
  /** Write one message; call `done` once it has left for the network (or the write failed). */
  send(message: { seq: number; type: LiveMessageType; text: string }, done: () => void): void;
  /** The feed ends this subscription (`ended`: the followed call is over and everything was written). */
  close(reason: LiveCloseReason): void;
}

export interface LiveSubscription {
  /** Messages dropped for this subscriber so far. */
  readonly dropped: number;
  readonly closed: boolean;
  unsubscribe(): void;
}

export interface LiveFeedOptions {
  log: Logger;
  /** `callpilot_live_*` metrics go here. */
  registry?: Registry;
  /** Messages a subscriber may have waiting before partials are dropped and then the subscriber closed. */
  maxQueued?: number;
  /** Writes a subscriber may have on the wire, not yet flushed, before new messages wait in its queue. */
  maxInFlight?: number;
  /** Messages of a running call kept for a subscriber who joins it late (partials are not kept). */
  backlogPerCall?: number;
  now?: () => Date;
}

/** Dropped first when a subscriber falls behind: the next partial or the final says the same and more. */
const DROPPABLE = new Set<LiveMessageType>(['partial', 'speech.start']);

interface LiveCallState {
  summary: LiveCallSummary;
  /** The prompt chosen but not yet on the wire, and the one playing now. */
  pendingBot?: string;
  speaking?: string;
  backlog: LiveMessage[];
}

/**
 * The live feed: call starts and ends, partials, finals, both legs of the conversation, what the dialog understood,
 * QA hits and latencies, fanned out to subscribers (the whole node, or one call). It observes calls like QA does
 * (`CallObserver`, placed after QA so a call's end-of-call hits come before its `call.ended`) and takes QA's live
 * hits from `QaMonitor.onHit`.
 *
 * Backpressure is per subscriber and bounded: at most `maxInFlight` writes are unflushed and `maxQueued` wait. A
 * full queue drops partials (the subscriber gets a `gap` with the count); when nothing droppable is left, the
 * subscriber is closed as a slow consumer. A slow reader never holds memory for long nor slows a call; every drop
 * and close is counted.
 */
export class LiveFeed implements CallObserver {
  private readonly calls = new Map<string, LiveCallState>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly now: () => Date;
  private readonly maxQueued: number;
  private readonly maxInFlight: number;
  private readonly backlogPerCall: number;
  private seq = 0;
  readonly metrics: LiveFeedMetrics;

  constructor(private readonly o: LiveFeedOptions) {
    this.now = o.now ?? (() => new Date());
    this.maxQueued = o.maxQueued ?? 256;
    this.maxInFlight = o.maxInFlight ?? 8;
    this.backlogPerCall = o.backlogPerCall ?? 500;
    this.metrics = new LiveFeedMetrics(o.registry);
  }

  /** Takes QA's live hits; returns the function that stops it. */
  followQa(qa: { onHit(listener: (hit: NewQaHit) => void): () => void }): () => void {
    return qa.onHit((hit) => {
      const { callId, flow: _flow, at: _at, ...rest } = hit;
      this.publish(callId, { type: 'qa.hit', hit: rest });
    });
  }

  /** Whether the call runs on this node now. */
  isLive(callId: string): boolean {
    return this.calls.has(callId);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Follow every call (no `callId`: starts with a `snapshot` of the calls running now) or one call (its messages
   * so far first, then live; closed with `ended` after its `call.ended`). `masked`: numbers masked (号码脱敏).
   */
  subscribe(opts: { callId?: string; masked: boolean; sink: LiveSink }): LiveSubscription {
    const sub = new Subscriber(opts.callId, opts.masked, opts.sink, this.maxQueued, this.maxInFlight, this.metrics, (s) => this.subscribers.delete(s));
    this.subscribers.add(sub);
    this.metrics.subscribers.inc();
    if (opts.callId === undefined) {
      const calls = Object.fromEntries([...this.calls].map(([callId, state]) => [callId, state.summary]));
      sub.deliver(this.stamp(undefined, { type: 'snapshot', calls }));
    } else {
      for (const message of this.calls.get(opts.callId)?.backlog ?? []) sub.deliver(message);
    }
    return sub;
  }

  /** Closes every subscription (server shutdown). */
  close(): void {
    for (const sub of [...this.subscribers]) sub.end('shutdown');
  }

  callStarted(call: ObservedCall): void {
    const summary: LiveCallSummary = { pbx: call.pbx, direction: call.direction, flow: call.flow, lang: call.lang, from: call.from, to: call.to, startedAt: this.now().toISOString() };
    this.calls.set(call.callId, { summary, backlog: [] });
    this.publish(call.callId, { type: 'call.started', call: summary });
  }

  event(callId: string, event: CallTimelineEvent): void {
    const state = this.calls.get(callId);
    if (!state) return;
    const body = this.bodyOf(state, event);
    if (body) this.publish(callId, body);
  }

  async callEnded(callId: string, end: { disposition: string; endedBy: string }): Promise<void> {
    if (!this.calls.has(callId)) return;
    this.publish(callId, { type: 'call.ended', disposition: end.disposition, endedBy: end.endedBy });
    this.calls.delete(callId);
  }

  private bodyOf(state: LiveCallState, e: CallTimelineEvent): LiveMessageBody | undefined {
    switch (e.type) {
      case 'speechStart':
        return { type: 'speech.start', leg: 'caller', atMs: e.atMs };
      case 'partial':
        return { type: 'partial', leg: 'caller', text: e.text, atMs: e.atMs };
      case 'final':
        return { type: 'final', leg: 'caller', text: e.text, startMs: e.speechStartMs, endMs: e.speechEndMs, atMs: e.atMs, confidence: e.confidence, waitMs: e.waitMs };
      case 'dtmf':
        return { type: 'dtmf', leg: 'caller', digits: e.digits, atMs: e.atMs };
      case 'noInput':
        return { type: 'noInput', atMs: e.atMs };
      case 'understood': {
        const { type: _type, seq, ...rest } = e;
        return { type: 'understood', turn: seq, ...rest };
      }
      case 'bot':
        state.pendingBot = e.text;
        return { type: 'bot', leg: 'bot', text: e.text, atMs: e.atMs, bargeIn: e.bargeIn };
      case 'botAudioStart': {
        // A re-played remainder after a false barge-in has no new `bot`: it is still the prompt playing.
        const text = state.pendingBot ?? state.speaking;
        state.speaking = text;
        state.pendingBot = undefined;
        return text === undefined ? undefined : { type: 'bot.spoken', leg: 'bot', text, atMs: e.atMs, latencyMs: e.latencyMs };
      }
      case 'botAudioEnd': {
        const text = state.speaking;
        state.speaking = undefined;
        return text === undefined ? undefined : { type: 'bot.heard', leg: 'bot', text, heardText: text, atMs: e.atMs, cut: false };
      }
      case 'bargeIn': {
        const text = state.speaking;
        if (text === undefined) return undefined;
        const heardMs = Math.round(e.heardMs);
        return { type: 'bot.heard', leg: 'bot', text, heardText: heardPart(text, e.heardMs, e.promptMs, state.summary.lang), heardMs, atMs: e.atMs, cut: true };
      }
      case 'resume':
        return { type: 'resume', atMs: e.atMs, reason: e.reason };
      case 'turnContinued':
        return { type: 'turn.continued', atMs: e.atMs, turn: e.seq, text: e.text };
      default:
        // speechEnd, echoIgnored and the loop's own `end` (call.ended follows with the stored outcome).
        return undefined;
    }
  }

  private stamp(callId: string | undefined, body: LiveMessageBody): LiveMessage {
    return { ...body, seq: ++this.seq, at: this.now().toISOString(), ...(callId !== undefined ? { callId } : {}) };
  }

  private publish(callId: string, body: LiveMessageBody): void {
    const message = this.stamp(callId, body);
    const state = this.calls.get(callId);
    if (state && !DROPPABLE.has(message.type)) {
      state.backlog.push(message);
      if (state.backlog.length > this.backlogPerCall) state.backlog.shift();
    }
    for (const sub of this.subscribers) {
      if (sub.callId !== undefined && sub.callId !== callId) continue;
      try {
        sub.deliver(message);
      } catch (err) {
        this.o.log.warn({ err, callId }, 'live feed subscriber failed; closing it');
        sub.end('shutdown');
      }
    }
  }
}

/** `callpilot_live_*`: subscribers now, messages dropped, subscribers closed for reading too slowly. */
class LiveFeedMetrics {
  readonly subscribers: { inc(): void; dec(): void };
  readonly dropped: { inc(n?: number): void };
  readonly closed: { inc(labels: { reason: LiveCloseReason }): void };

  constructor(registry: Registry | undefined) {
    if (!registry) {
      const none = { inc: () => undefined, dec: () => undefined };
      this.subscribers = none;
      this.dropped = none;
      this.closed = none;
      return;
    }
    this.subscribers = new Gauge({ name: 'callpilot_live_subscribers', help: 'Live feed subscribers connected now (WebSocket and SSE)', registers: [registry] });
    this.dropped = new Counter({ name: 'callpilot_live_dropped_messages_total', help: 'Live feed messages (partials) dropped for subscribers that read too slowly', registers: [registry] });
    this.closed = new Counter({ name: 'callpilot_live_closed_subscribers_total', help: 'Live feed subscriptions ended by the feed, by reason', labelNames: ['reason'], registers: [registry] });
  }
}

/** One subscription: its filter, masking, queue and flow control. */
class Subscriber implements LiveSubscription {
  private readonly queue: LiveMessage[] = [];
  private inFlight = 0;
  /** Dropped since the last `gap` notice was written. */
  private unreported = 0;
  private endAfterFlush = false;
  dropped = 0;
  closed = false;

  constructor(
    readonly callId: string | undefined,
    private readonly masked: boolean,
    private readonly sink: LiveSink,
    private readonly maxQueued: number,
    private readonly maxInFlight: number,
    private readonly metrics: LiveFeedMetrics,
    private readonly onClosed: (s: Subscriber) => void,
  ) {}

  deliver(message: LiveMessage): void {
    if (this.closed || this.endAfterFlush) return;
    if (this.callId !== undefined && message.type === 'call.ended') this.endAfterFlush = true;
    if (this.queue.length === 0 && this.inFlight < this.maxInFlight) {
      this.write(message);
      return;
    }
    if (this.queue.length >= this.maxQueued && !this.makeRoom(message)) return;
    this.queue.push(message);
  }

  /** Room for `incoming` in a full queue: drop the oldest partial (or `incoming` itself); false when not queued. */
  private makeRoom(incoming: LiveMessage): boolean {
    const index = this.queue.findIndex((m) => DROPPABLE.has(m.type));
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.countDrop();
      return true;
    }
    if (DROPPABLE.has(incoming.type)) {
      this.countDrop();
      return false;
    }
    // Nothing left to drop and a message that must not be lost: this reader cannot keep up.
    this.end('slow_consumer');
    return false;
  }

  private countDrop(): void {
    this.dropped++;
    this.unreported++;
    this.metrics.dropped.inc();
  }

  private write(message: LiveMessage): void {
    if (this.unreported > 0) {
      const gap: LiveMessage = { type: 'gap', dropped: this.unreported, seq: message.seq, at: message.at };
      this.unreported = 0;
      this.send(gap);
    }
    this.send(message);
  }

  private send(message: LiveMessage): void {
    this.inFlight++;
    let settled = false;
    this.sink.send({ seq: message.seq, type: message.type, text: JSON.stringify(this.masked ? maskMessage(message) : message) }, () => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.inFlight < this.maxInFlight) this.write(this.queue.shift()!);
    if (!this.closed && this.endAfterFlush && this.queue.length === 0 && this.inFlight === 0) this.end('ended');
  }

  end(reason: LiveCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.onClosed(this);
    this.metrics.subscribers.dec();
    if (reason !== 'ended') this.metrics.closed.inc({ reason });
    this.sink.close(reason);
  }

  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.onClosed(this);
    this.metrics.subscribers.dec();
  }
}

/**
 * Numbers masked in every field but the feed's own (`seq`, `at`, `callId`, `type`): text, slots, call numbers.
 * Call ids are never inside a body (a UUID's digit runs would read as a number), only in `callId` and as keys.
 */
export function maskMessage(message: LiveMessage): LiveMessage {
  const { seq, at, callId, type, ...rest } = message;
  return { seq, at, ...(callId !== undefined ? { callId } : {}), type, ...(maskValue(rest) as object) } as LiveMessage;
}
