import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { ROLE_SETS, type AuditLog, type Principal } from '../auth/index.ts';
import type { LiveCloseReason, LiveFeed, LiveSink } from '../calls/index.ts';
import type { CallStore } from '../store/index.ts';
import { originAllowed } from './access-control.ts';
import { principalOf } from './auth-routes.ts';
import { unmaskParam, wantsUnmasked } from './call-masking.ts';
import type { ServerConfig } from './config.ts';
import { HttpError } from './http-error.ts';
import type { DispatchedRoute } from './websocket-dispatch.ts';
import { jsonSchemaOf, parseOrThrow, validatedByZod } from './zod-schema.ts';

export interface LiveRoutesOptions {
  live: LiveFeed;
  calls: CallStore;
  audit: AuditLog;
  config: Pick<ServerConfig, 'allowedOrigins'>;
  log: Logger;
  /** SSE comment lines that keep proxies from closing an idle stream. */
  keepAliveMs?: number;
}

/** Who may follow calls live: the roles that read calls (operators and supervisors, auditors). */
export const LIVE_ROLES = ROLE_SETS.readCalls;

const liveQuerySchema = z.object({ unmask: unmaskParam }).strict();

/** `/api/calls/<id>/live`: the one call-scoped live path (its id is checked before anything is looked up). */
const CALL_LIVE_PATH = /^\/api\/calls\/([^/]+)\/live$/;

const MESSAGE_DOC =
  'One JSON object per message (`seq`, `at`, `type`, `callId` and the type\'s fields): `snapshot` (whole-node feed, first), ' +
  '`call.started`, `speech.start`, `partial`, `final` (caller leg), `dtmf`, `noInput`, `understood` (intent, confidence, ' +
  'slots, emotion), `bot` (prompt chosen), `bot.spoken` (first frame on the wire, with `latencyMs`), `bot.heard` ' +
  '(what the caller heard: all of the prompt, or the part before a barge-in with `cut: true`), `resume`, ' +
  '`turn.continued` (the caller went on with turn `turn` after a pause: its answer was taken back, `text` is the whole turn), `qa.hit`, ' +
  '`call.ended`, and `gap` (this many partials were dropped because the reader was too slow; a reader that still ' +
  'cannot keep up is closed). Numbers are masked unless `unmask=true` was allowed (audited). The same stream is ' +
  'served over WebSocket on this path (same credentials, Origin checked); over SSE each message is an event named ' +
  'by its type with `id` = `seq`.';

/**
 * The checks every transport shares (query, unmask right, the call exists), audited; then `start` subscribes a
 * reader. A call-scoped feed of a call that ended (and is not running here) just says how it ended.
 */
async function prepareFeed(
  o: LiveRoutesOptions,
  principal: Principal,
  callId: string | undefined,
  query: unknown,
): Promise<(sink: LiveSink) => { unsubscribe(): void }> {
  const { unmask } = parseOrThrow(liveQuerySchema, query ?? {}, 'query');
  const unmasked = wantsUnmasked(principal, unmask);
  let endedCall: { disposition: string; endedBy: string } | undefined;
  if (callId !== undefined) {
    const call = await o.calls.getCall(callId);
    if (!call) throw new HttpError(404, `no call ${callId}`);
    if (call.status === 'ended' && !o.live.isLive(callId)) endedCall = { disposition: call.disposition ?? 'unknown', endedBy: call.hangupBy ?? 'unknown' };
  }
  await o.audit.record(principal, unmasked ? 'live.unmasked' : 'live.follow', callId, {});
  return (sink) => {
    if (!endedCall) return o.live.subscribe({ callId, masked: !unmasked, sink });
    const message = { seq: 0, at: new Date().toISOString(), type: 'call.ended' as const, callId, ...endedCall };
    sink.send({ seq: 0, type: 'call.ended', text: JSON.stringify(message) }, () => sink.close('ended'));
    return { unsubscribe: () => undefined };
  };
}

/** `GET /api/live` and `GET /api/calls/:id/live` as Server-Sent Events; the WebSocket variant is `liveWebSocketRoutes`. */
export function registerLiveRoutes(app: FastifyInstance, o: LiveRoutesOptions): void {
  const sse = async (request: FastifyRequest, reply: { hijack(): void; raw: ServerResponse }, callId: string | undefined): Promise<void> => {
    const origin = request.headers.origin;
    // EventSource sends no Origin for same-origin reads; a foreign page's is refused like a WebSocket's.
    if (origin !== undefined && !originAllowed(origin, request.headers.host, undefined, o.config.allowedOrigins)) {
      throw new HttpError(403, `live feed from origin ${origin} refused (server.allowedOrigins)`);
    }
    const res = reply.raw;
    let keepAlive: NodeJS.Timeout | undefined;
    const end = (): void => {
      clearInterval(keepAlive);
      if (!res.writableEnded) res.end();
    };
    const sink: LiveSink = {
      send(message, done) {
        if (res.writableEnded || res.destroyed) return done();
        res.write(`id: ${message.seq}\nevent: ${message.type}\ndata: ${message.text}\n\n`, () => done());
      },
      close: end,
    };
    // Checks first: their errors are ordinary JSON answers. The stream starts once they passed.
    const start = await prepareFeed(o, principalOf(request), callId, request.query);
    reply.hijack();
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write(': callpilot live feed\n\n');
    const subscription = start(sink);
    keepAlive = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs ?? 15_000);
    keepAlive.unref();
    res.on('close', () => {
      clearInterval(keepAlive);
      subscription.unsubscribe();
    });
  };

  const schema = (summary: string, params?: Record<string, unknown>) => ({
    summary,
    description: MESSAGE_DOC,
    tags: ['live'],
    ...(params ? { params } : {}),
    querystring: jsonSchemaOf(liveQuerySchema),
    response: { 200: { description: 'text/event-stream (or a WebSocket upgrade)', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
  });
  app.get('/api/live', { config: { roles: LIVE_ROLES }, validatorCompiler: validatedByZod, schema: schema('Live feed of every call on this node (SSE or WebSocket)') }, async (request, reply) =>
    sse(request, reply, undefined),
  );
  app.get<{ Params: { id: string } }>(
    '/api/calls/:id/live',
    {
      config: { roles: LIVE_ROLES },
      validatorCompiler: validatedByZod,
      schema: schema('Live feed of one call: its messages so far, then live until it ends (SSE or WebSocket)', {
        type: 'object',
        properties: { id: { type: 'string', minLength: 1, maxLength: 128, description: 'callpilot call id' } },
        required: ['id'],
      }),
    },
    async (request, reply) => sse(request, reply, request.params.id),
  );
}

/** The same feeds over WebSocket (text frames, one JSON message each); upgrades pass the usual Host/Origin/credential checks. */
export function liveWebSocketRoutes(o: LiveRoutesOptions): DispatchedRoute[] {
  const handle = (ws: WebSocket, req: IncomingMessage, principal: Principal | undefined, callId: string | undefined): void => {
    const sink: LiveSink = {
      send(message, done) {
        if (ws.readyState !== ws.OPEN) return done();
        ws.send(message.text, () => done());
      },
      close: (reason: LiveCloseReason) => ws.close(reason === 'slow_consumer' ? 1013 : reason === 'shutdown' ? 1001 : 1000, reason),
    };
    let subscription: { unsubscribe(): void } | undefined;
    ws.on('close', () => subscription?.unsubscribe());
    ws.on('error', (err) => o.log.debug({ err }, 'live feed socket error'));
    const query = Object.fromEntries(new URL(req.url ?? '/', 'http://callpilot.invalid').searchParams);
    if (!principal) {
      ws.close(1008, 'authentication required');
      return;
    }
    prepareFeed(o, principal, callId, query).then(
      (start) => {
        if (ws.readyState === ws.OPEN) subscription = start(sink);
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.statusCode : 500;
        if (!(err instanceof HttpError)) o.log.error({ err }, 'opening a live feed failed');
        const message = err instanceof HttpError ? err.message : 'internal error';
        ws.send(JSON.stringify({ type: 'error', error: message, statusCode: status }), () => ws.close(1008, message.slice(0, 120)));
      },
    );
  };
  return [
    { path: '/api/live', roles: LIVE_ROLES, maxPayload: 1024, accepts: (p) => p === '/api/live', handle: (ws, req, principal) => handle(ws, req, principal, undefined) },
    {
      path: '/api/calls',
      roles: LIVE_ROLES,
      maxPayload: 1024,
      accepts: (p) => CALL_LIVE_PATH.test(p),
      handle: (ws, req, principal) => handle(ws, req, principal, CALL_LIVE_PATH.exec(new URL(req.url ?? '/', 'http://callpilot.invalid').pathname)?.[1]),
    },
  ];
}
