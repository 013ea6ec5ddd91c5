import { type CaptureLine, type CapturedEvent, eventTemplate, loadCapture } from './captures.ts';
import { cutSegment, isEvent, isKind, isNote, isRequestIn, isResponseTo, responseBody, type LinePick, type Segment } from './segments.ts';

/** The ids a capture used, so the peer can swap in live ones. */
export interface CapturedIds {
  caller: string;
  callerName: string;
  media: string;
  mediaName: string;
  connectionId: string;
  service?: string;
}

export interface Script {
  ids: CapturedIds;
  events: Segment['events'];
  /** REST reply body captured for the request that starts the script. */
  response: () => unknown;
  /** Events between the REST reply and the media connection (Dial ""). */
  dialing: Segment['events'];
  /** Events once the media connection is up (ChannelStateChange Up, Dial ANSWER, StasisStart). */
  answered: Segment['events'];
}

const F = {
  inbound: 'inbound-call-answer-hangup.jsonl',
  inboundSub: 'inbound-call-answer-hangup-subscribed.jsonl',
  botHangupSub: 'inbound-bot-hangup-subscribed.jsonl',
  rejectBusy: 'inbound-bot-reject-busy.jsonl',
  continue: 'transfer-continue-in-dialplan.jsonl',
  redirectRinging: 'transfer-redirect-ringing.jsonl',
  restart: 'asterisk-restart.jsonl',
  rest: 'rest-basics-and-errors.jsonl',
  dtmf: 'dtmf.jsonl',
  wsUlaw: 'external-media-websocket-ulaw.jsonl',
  wsSlin16: 'external-media-websocket-slin16.jsonl',
  wsJson: 'external-media-websocket-json.jsonl',
  wsOversize: 'external-media-websocket-oversize.jsonl',
  wsClient: 'external-media-websocket-client.jsonl',
  audioSocket: 'external-media-audiosocket.jsonl',
  rtp: 'external-media-rtp.jsonl',
} as const;

const NO_IDS: CapturedIds = { caller: '', callerName: '', media: '', mediaName: '', connectionId: '' };

function firstStasisChannel(file: string): { id: string; name: string } {
  const ev = eventTemplate(file, 'StasisStart');
  return { id: ev.channel?.id ?? '', name: ev.channel?.name ?? '' };
}

function callerIds(file: string): CapturedIds {
  const c = firstStasisChannel(file);
  return { ...NO_IDS, caller: c.id, callerName: c.name };
}

const anyOf =
  (...picks: LinePick[]): LinePick =>
  (l, i) =>
    picks.some((p) => p(l, i));

const nextRequestOrEnd: LinePick = (l) => l.kind === 'ari.request' || l.kind === 'sipp.exit' || l.kind === 'ari.ws.close';

function script(ids: CapturedIds, events: Segment['events'], extra: Partial<Script> = {}): Script {
  return {
    ids,
    events,
    response: () => {
      throw new Error('script has no captured response');
    },
    dialing: [],
    answered: [],
    ...extra,
  };
}

/** Events of `file` after the line `after` up to `until`, for one channel. */
function cut(file: string, after: LinePick, until: LinePick | null, filter?: (e: CapturedEvent) => boolean): Segment['events'] {
  return cutSegment(file, after, until, filter).events;
}

const EXTERNAL_MEDIA = /\/channels\/externalMedia$/;

function externalMediaIds(file: string, nth: number): CapturedIds {
  const body = responseBody(file, 'POST', EXTERNAL_MEDIA, nth).body as { id: string; name: string; channelvars: Record<string, string> };
  const vars = body.channelvars ?? {};
  return {
    ...NO_IDS,
    media: body.id,
    mediaName: body.name,
    connectionId: vars.MEDIA_WEBSOCKET_CONNECTION_ID ?? vars.AUDIOSOCKET_UUID ?? '',
    service: vars.AUDIOSOCKET_SERVICE,
  };
}

const isMediaStart: LinePick = (l: CaptureLine) => l.kind === 'media.ws.text.in' && typeof l.text === 'string' && l.text.startsWith('MEDIA_START');
const DELETE_OF = (file: string, id: string): LinePick => isRequestIn(file, 'DELETE', new RegExp(`/channels/${id.replace('.', '\\.')}$`));

function wsServerScript(file: string): Script {
  const ids = externalMediaIds(file, 0);
  return script(ids, [], {
    response: () => responseBody(file, 'POST', EXTERNAL_MEDIA, 0).body,
    dialing: cut(file, isResponseTo(file, 'POST', EXTERNAL_MEDIA, 0), anyOf(isKind('media.ws.open'), isMediaStart)),
    answered: cut(file, isMediaStart, isRequestIn(file, 'POST', /addChannel$/, 1)),
  });
}

function originateScript(file: string): Script {
  const create = /^\/ari\/channels$/;
  const body = responseBody(file, 'POST', create, 0).body as { id: string; name: string };
  return script({ ...NO_IDS, caller: body.id, callerName: body.name }, cut(file, isResponseTo(file, 'POST', create, 0), nextRequestOrEnd), {
    response: () => responseBody(file, 'POST', create, 0).body,
  });
}

/**
 * The create + addChannel + dial route with early media (captures early-media-*.jsonl). Event shapes come from
 * the captures; the ringback capture's ids are renamed to the announcement capture's so one substitution fits all.
 */
function earlyMediaScripts() {
  const an = 'early-media-announcement.jsonl';
  const an404 = 'early-media-announcement-404.jsonl';
  const rb = 'early-media-ringback-then-answer.jsonl';
  const CREATE = /\/channels\/create$/;
  const body = responseBody(an, 'POST', CREATE, 0).body as { id: string; name: string };
  const rbBody = responseBody(rb, 'POST', CREATE, 0).body as { id: string; name: string };
  const an404Body = responseBody(an404, 'POST', CREATE, 0).body as { id: string; name: string };
  const ids: CapturedIds = { ...NO_IDS, caller: body.id, callerName: body.name };
  const rename = (ev: CapturedEvent, from: { id: string; name: string }): CapturedEvent =>
    JSON.parse(JSON.stringify(ev).split(from.id).join(body.id).split(from.name).join(body.name)) as CapturedEvent;
  const outOnly = (id: string) => (e: CapturedEvent): boolean => (e.channel?.id ?? (e.peer as { id?: string } | undefined)?.id) === id;
  const lastProgress = (file: string): LinePick => {
    const lines = loadCapture(file);
    let last = -1;
    lines.forEach((l, i) => {
      if (l.kind === 'ari.event' && l.event?.type === 'Dial' && l.event.dialstatus === 'PROGRESS') last = i;
    });
    return (_l, i) => i === last;
  };
  const hangupRun = (file: string, out: { id: string; name: string }): Segment['events'] =>
    cut(file, lastProgress(file), (l) => l.kind === 'ari.request' && l.method === 'DELETE', (e) => outOnly(out.id)(e) && e.type !== 'ChannelVarset').map((x) => ({
      delayMs: 0,
      event: rename(x.event, out),
    }));
  return {
    ids,
    response: () => responseBody(an, 'POST', CREATE, 0).body,
    created: cut(an, isResponseTo(an, 'POST', CREATE, 0), isEvent('ChannelEnteredBridge'), (e) => (e.type === 'ChannelDialplan' || e.type === 'StasisStart') && outOnly(body.id)(e)),
    dial: eventTemplate(an, 'Dial', (e) => (e.peer as { id?: string } | undefined)?.id === body.id),
    ringing: rename(eventTemplate(rb, 'ChannelStateChange', (e) => e.channel?.id === rbBody.id && e.channel.state === 'Ringing'), rbBody),
    up: rename(eventTemplate(rb, 'ChannelStateChange', (e) => e.channel?.id === rbBody.id && e.channel.state === 'Up'), rbBody),
    /** 480: HangupRequest{19}, LeftBridge, StasisEnd, Destroyed{19 "User alerting, no answer"} within ~4 ms. */
    rejected480: hangupRun(an, body),
    /** 404: the same with cause 1 "Unallocated (unassigned) number". */
    rejected404: hangupRun(an404, an404Body),
  };
}

function build() {
  const inbound = callerIds(F.inbound);
  const inboundSub = callerIds(F.inboundSub);
  const botHangup = callerIds(F.botHangupSub);
  const answered = originateScript('outbound-originate-answered.jsonl');
  const wsClientIds = externalMediaIds(F.wsClient, 2);
  const wsClientFail = externalMediaIds(F.wsClient, 0);
  const asIds = externalMediaIds(F.audioSocket, 0);
  const asSlin16 = externalMediaIds(F.audioSocket, 1);
  const rtpIds = externalMediaIds(F.rtp, 0);
  const wsUlaw = externalMediaIds(F.wsUlaw, 0);
  const wsSlin16 = externalMediaIds(F.wsSlin16, 0);
  const wsJson = externalMediaIds(F.wsJson, 0);
  const wsOversize = externalMediaIds(F.wsOversize, 0);

  return {
    inbound: {
      ids: inbound,
      stasisStart: (): CapturedEvent => eventTemplate(F.inbound, 'StasisStart'),
    },
    answer: script(inbound, cut(F.inbound, isRequestIn(F.inbound, 'POST', /\/answer$/), isResponseTo(F.inbound, 'POST', /\/answer$/))),
    /** BYE without Reason; the subscribed capture also has what follows StasisEnd. */
    callerBye: script(inboundSub, startNow(cut(F.inboundSub, (_l, i) => i === firstVarsetIndex(F.inboundSub) - 1, isKind('sipp.exit')))),
    botHangup: script(botHangup, cut(F.botHangupSub, DELETE_OF(F.botHangupSub, botHangup.caller), anyOf(isKind('sipp.exit'), isKind('note')))),
    rejectBusy: script(callerIds(F.rejectBusy), cut(F.rejectBusy, DELETE_OF(F.rejectBusy, callerIds(F.rejectBusy).caller), isKind('sipp.exit'))),
    continueInDialplan: script(callerIds(F.continue), cut(F.continue, isRequestIn(F.continue, 'POST', /\/continue$/), isRequestIn(F.continue, 'GET', /\/channels\/[^/]+$/))),
    redirectRinging: script(callerIds(F.redirectRinging), cut(F.redirectRinging, isRequestIn(F.redirectRinging, 'POST', /\/redirect$/), isKind('sipp.exit'))),
    shutdown: script(callerIds(F.restart), cut(F.restart, isKind('asterisk.stop'), isKind('sipp.exit'))),
    originate: {
      answered,
      busy: originateScript('outbound-originate-busy.jsonl'),
      'no-answer': originateScript('outbound-originate-no-answer.jsonl'),
      unreachable: originateScript('outbound-originate-unreachable.jsonl'),
      'unreachable-timeout': originateScript('outbound-originate-unreachable-timeout.jsonl'),
    },
    /** The callee (SIPp UAS) hangs up an answered outbound call. */
    outboundRemoteHangup: script(answered.ids, startNow(cut('outbound-originate-answered.jsonl', isEvent('PlaybackFinished'), isKind('sipp.exit')))),
    /** Not captured for an outbound channel: the subscribed inbound DELETE run has the same shape (ChannelDestroyed 16). */
    outboundBotHangup: script(botHangup, cut(F.botHangupSub, DELETE_OF(F.botHangupSub, botHangup.caller), anyOf(isKind('sipp.exit'), isKind('note')))),
    /** DELETE of a still-ringing outbound channel: Dial NOANSWER, ChannelDestroyed 16. */
    cancelRingingOutbound: script({ ...NO_IDS, caller: 'fixture-badvars', callerName: badvarsName() }, cut(F.rest, DELETE_OF(F.rest, 'fixture-badvars'), nextRequestOrEnd)),
    dtmf: { template: (): CapturedEvent => eventTemplate(F.dtmf, 'ChannelDtmfReceived') },
    early: earlyMediaScripts(),
    bridge: {
      response: () => responseBody(F.wsUlaw, 'POST', /^\/ari\/bridges$/, 0).body,
      entered: () => (eventTemplate(F.wsUlaw, 'ChannelEnteredBridge')),
      left: () => (eventTemplate(F.wsUlaw, 'ChannelLeftBridge')),
      destroyed: () => (eventTemplate(F.wsUlaw, 'BridgeDestroyed')),
    },
    wsServer: wsServerScript(F.wsUlaw),
    wsServerSlin16: wsServerScript(F.wsSlin16),
    wsDelete: script(wsSlin16, cut(F.wsSlin16, DELETE_OF(F.wsSlin16, wsSlin16.media), isKind('media.ws.close'))),
    wsHangupCommand: script(wsUlaw, cut(F.wsUlaw, (l) => l.kind === 'media.ws.text.out' && l.text === 'HANGUP', isKind('media.ws.close'))),
    wsPeerClose: script(wsJson, cut(F.wsJson, isNote('media peer closes'), isKind('media.ws.close'))),
    wsOversize: script(wsOversize, cut(F.wsOversize, isNote('sending one 70000'), isKind('media.ws.close'))),
    wsClient: script(wsClientIds, [], {
      response: () => responseBody(F.wsClient, 'POST', EXTERNAL_MEDIA, 2).body,
      dialing: [],
      answered: cut(F.wsClient, isMediaStart, isRequestIn(F.wsClient, 'POST', /addChannel$/, 1)),
    }),
    wsClientRefused: script(wsClientFail, cut(F.wsClient, isResponseTo(F.wsClient, 'POST', EXTERNAL_MEDIA, 0), isNote('part 1b'))),
    audioSocket: script(asIds, [], {
      response: () => responseBody(F.audioSocket, 'POST', EXTERNAL_MEDIA, 0).body,
      dialing: cut(F.audioSocket, isKind('audiosocket.frame.in'), isRequestIn(F.audioSocket, 'POST', /addChannel$/, 1)),
    }),
    audioSocketDelete: script(asIds, cut(F.audioSocket, DELETE_OF(F.audioSocket, asIds.media), isNote('(2)'))),
    audioSocketPeerGone: script(asSlin16, cut(F.audioSocket, isKind('audiosocket.frame.out'), isNote('(3)'))),
    rtp: script(rtpIds, [], {
      response: () => responseBody(F.rtp, 'POST', EXTERNAL_MEDIA, 0).body,
      dialing: cut(F.rtp, isRequestIn(F.rtp, 'POST', EXTERNAL_MEDIA, 0), isResponseTo(F.rtp, 'POST', EXTERNAL_MEDIA, 0)),
    }),
    rtpDelete: script(rtpIds, cut(F.rtp, DELETE_OF(F.rtp, rtpIds.media), isKind('note'))),
  };
}

/** The test decides when the far end hangs up; the capture's wait before it is not part of the run. */
function startNow(events: Segment['events']): Segment['events'] {
  return events.map((e, i) => (i === 0 ? { ...e, delayMs: 0 } : e));
}

function badvarsName(): string {
  const line = loadCapture(F.rest).find((l) => l.kind === 'ari.response' && (l.body as { id?: string } | undefined)?.id === 'fixture-badvars');
  return (line?.body as { name: string }).name;
}

function firstVarsetIndex(file: string): number {
  const lines = loadCapture(file);
  return lines.findIndex((l) => l.kind === 'ari.event' && l.event?.type === 'ChannelVarset' && l.event.variable === 'RTPAUDIOQOS');
}

export const SCRIPTS = build();
