import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { mayUnmask, ROLE_SETS, type AuditLog } from '../auth/index.ts';
import { maskText } from '../core/index.ts';
import { openEncryptedRecording, RecordingCryptoError, type EncryptedRecording, type RecordingKeyring } from '../media/index.ts';
import { FilesystemRecordingStorage, StoreQueryError, type CallPage, type CallRecord, type CallStore } from '../store/index.ts';
import { principalOf } from './auth-routes.ts';
import { maskCall, maskEvent, maskTurn, unmaskParam, wantsUnmasked } from './call-masking.ts';
import { qaHitSchema } from './qa-routes.ts';
import { attachQaHits } from './turn-qa.ts';
import { BODY_LIMITS } from './body-limits.ts';
import { HttpError } from './http-error.ts';
import type { HttpServerOptions } from './http-types.ts';
import { originateCallRequestSchema } from './originate-request.ts';
import { findRecordingFile, parseByteRange } from './recording-file.ts';
import { jsonSchemaOf, parseOrThrow, validatedByZod } from './zod-schema.ts';

const callIdParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 128, description: 'callpilot call id' } },
  required: ['id'],
} as const;

/** A call as stored; numbers masked unless `?unmask=true` was allowed. Fields not listed here pass through. */
export const callSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    pbx: { type: 'string' },
    pbxCallId: { type: 'string' },
    externalId: { type: 'string' },
    direction: { type: 'string', enum: ['inbound', 'outbound'] },
    from: { type: 'string' },
    to: { type: 'string' },
    flow: { type: 'string' },
    lang: { type: 'string' },
    status: { type: 'string', enum: ['active', 'ended'] },
    startedAt: { type: 'string', format: 'date-time' },
    answeredAt: { type: 'string', format: 'date-time' },
    endedAt: { type: 'string', format: 'date-time' },
    disposition: { type: 'string' },
    hangupCause: { type: 'number' },
    hangupBy: { type: 'string' },
    variables: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['id', 'pbx', 'direction', 'lang', 'status', 'startedAt'],
} as const;

const turnSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    seq: { type: 'integer' },
    callerText: { type: 'string' },
    inputKind: { type: 'string', enum: ['speech', 'dtmf', 'noInput'] },
    botText: { type: 'string' },
    speechStartMs: { type: 'number', description: 'audio-clock ms from the first caller frame' },
    speechEndMs: { type: 'number' },
    latencyMs: { type: 'number', description: 'end of caller speech to first bot frame on the wire' },
    bargeIn: { type: 'boolean' },
    heardMs: { type: 'number' },
    continuesSeq: { type: 'integer', description: 'the caller went on with this earlier turn after a pause: its answer was taken back and this turn answered the whole of it' },
    intent: { type: 'string', description: 'the intent the dialog acted on; absent when nothing matched' },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    slots: { type: 'object', additionalProperties: { type: 'string' }, description: 'values heard: number, amount, date, time, digits' },
    emotion: {
      type: 'object',
      properties: { label: { type: 'string', enum: ['angry', 'negative', 'neutral', 'positive'] }, score: { type: 'number' } },
      description: "the caller's emotion cue in the utterance (lexicon and punctuation)",
    },
    qaHits: {
      type: 'array',
      description: 'QA hits said by a leg during this turn (from its caller speech to the next turn); the full hits are in qaHits of the call',
      items: {
        type: 'object',
        properties: { id: { type: 'integer' }, ruleId: { type: 'string' }, severity: { type: 'string' }, leg: { type: 'string', enum: ['caller', 'bot'] }, atMs: { type: 'number' } },
        required: ['id', 'ruleId', 'severity', 'atMs'],
      },
    },
    at: { type: 'string', format: 'date-time' },
  },
  required: ['seq', 'callerText', 'inputKind', 'bargeIn', 'qaHits', 'at'],
} as const;

const eventSchema = {
  type: 'object',
  additionalProperties: true,
  properties: { at: { type: 'string', format: 'date-time' }, type: { type: 'string' }, data: { type: 'object', additionalProperties: true } },
} as const;

/** How many trailing digits a masked number shows (138****5678): searching by more needs the unmask grant. */
const VISIBLE_SUFFIX_DIGITS = 4;

const listQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(50),
    status: z.enum(['active', 'ended']).optional(),
    since: z.iso.datetime({ offset: true }).optional().describe('calls started at or after this time (ISO 8601)'),
    until: z.iso.datetime({ offset: true }).optional().describe('calls started before this time (ISO 8601)'),
    flow: z.string().min(1).max(100).optional(),
    disposition: z.string().min(1).max(100).optional(),
    direction: z.enum(['inbound', 'outbound']).optional(),
    campaign: z.string().min(1).max(100).optional().describe('calls of this campaign id'),
    number: z
      .string()
      .regex(/^\d{1,20}$/, 'digits only')
      .optional()
      .describe(`the caller's or callee's number ends with these digits (up to ${VISIBLE_SUFFIX_DIGITS}, the part masking shows; more with the unmask grant)`),
    cursor: z.string().min(1).max(200).optional().describe('`next` of the previous page'),
    unmask: unmaskParam,
  })
  .strict();

const detailQuerySchema = z.object({ unmask: unmaskParam });

/** REST API over the call store, recordings and outbound calls. */
export function registerCallRoutes(
  app: FastifyInstance,
  opts: Pick<HttpServerOptions, 'store' | 'originate' | 'checkCallTarget' | 'recordingsDir' | 'recordingStorage' | 'recordingKeyring' | 'log'> & { audit: AuditLog },
): void {
  const store = opts.store.calls;
  const audit = opts.audit;
  const recordings = opts.recordingStorage ?? new FilesystemRecordingStorage(opts.recordingsDir);

  app.get(
    '/api/calls',
    {
      config: { roles: ROLE_SETS.readCalls },
      validatorCompiler: validatedByZod,
      schema: {
        summary: 'Calls, newest first, filtered; `next` is the cursor of the following page (absent on the last)',
        querystring: jsonSchemaOf(listQuerySchema),
        response: {
          200: {
            type: 'object',
            properties: { calls: { type: 'array', items: callSchema }, masked: { type: 'boolean' }, next: { type: 'string' } },
            required: ['calls', 'masked'],
          },
        },
      },
    },
    async (request) => {
      const query = parseOrThrow(listQuerySchema, request.query, 'query');
      const principal = principalOf(request);
      const unmasked = wantsUnmasked(principal, query.unmask);
      if (query.number && query.number.length > VISIBLE_SUFFIX_DIGITS && !mayUnmask(principal)) {
        // Probing longer suffixes would read a masked number digit by digit.
        throw new HttpError(403, `searching by more than the last ${VISIBLE_SUFFIX_DIGITS} digits needs the unmask grant`, { field: 'number' });
      }
      const { cursor, number, unmask: _unmask, ...filters } = query;
      let page: CallPage;
      try {
        page = await store.findCalls({ ...filters, numberSuffix: number, after: cursor });
      } catch (err) {
        if (err instanceof StoreQueryError) throw new HttpError(400, `invalid query: ${err.field}: ${err.message.replace(/^findCalls: /, '')}`, { field: err.field });
        throw err;
      }
      const next = page.next ? { next: page.next } : {};
      if (!unmasked) return { calls: page.calls.map(maskCall), masked: true, ...next };
      await audit.record(principal, 'calls.unmasked', undefined, { calls: page.calls.map((c) => c.id) });
      return { calls: page.calls, masked: false, ...next };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/calls/:id',
    {
      config: { roles: ROLE_SETS.readCalls },
      validatorCompiler: validatedByZod,
      schema: {
        summary: 'One call with its turns (intent, confidence, slots, emotion, QA hits), events and QA hits',
        params: callIdParams,
        querystring: jsonSchemaOf(detailQuerySchema),
        response: {
          200: {
            type: 'object',
            properties: {
              call: callSchema,
              turns: { type: 'array', items: turnSchema },
              events: { type: 'array', items: eventSchema },
              qaHits: { type: 'array', items: qaHitSchema, description: 'every QA hit of the call in recording order (text masked when stored)' },
              masked: { type: 'boolean' },
            },
            required: ['call', 'turns', 'events', 'qaHits', 'masked'],
          },
        },
      },
    },
    async (request) => {
      const query = parseOrThrow(detailQuerySchema, request.query, 'query');
      const principal = principalOf(request);
      const unmasked = wantsUnmasked(principal, query.unmask);
      const call = await requireCall(store, request.params.id);
      const [stored, events, qaHits] = await Promise.all([store.listTurns(call.id), store.listEvents(call.id), opts.store.qa.listHits({ callId: call.id, limit: 10_000 })]);
      qaHits.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
      await audit.record(principal, unmasked ? 'call.unmasked' : 'transcript.read', call.id, { turns: stored.length });
      const turns = attachQaHits(unmasked ? stored : stored.map(maskTurn), qaHits);
      if (unmasked) return { call, turns, events, qaHits, masked: false };
      return { call: maskCall(call), turns, events: events.map(maskEvent), qaHits, masked: true };
    },
  );

  app.get<{ Params: { id: string; leg: string } }>(
    '/api/calls/:id/recordings/:leg',
    {
      config: { roles: ROLE_SETS.readCalls },
      schema: {
        summary: 'A recording leg as WAV (caller, bot or mixed); byte ranges supported',
        params: {
          type: 'object',
          properties: { id: callIdParams.properties.id, leg: { type: 'string', maxLength: 32, description: 'caller, bot or mixed (optionally with .wav)' } },
          required: ['id', 'leg'],
        },
        response: {
          200: { description: 'the whole recording', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } },
          206: { description: 'the requested byte range', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } },
        },
      },
    },
    async (request, reply) => {
      const call = await requireCall(store, request.params.id);
      const leg = request.params.leg.replace(/\.wav$/, '');
      const found = await findRecordingFile(recordings, call.recordingDir, leg);
      const encrypted = found.encrypted ? await openDecrypted(found.path, opts.recordingKeyring, opts.log.child({ callId: call.id })) : undefined;
      const file = { path: found.path, size: encrypted ? encrypted.size : found.size };
      // One row per download, ranged or not: players fetch in pieces, but each piece is a read of the recording.
      await audit.record(principalOf(request), 'recording.download', call.id, { leg, range: request.headers.range ?? null, encrypted: found.encrypted });
      const range = parseByteRange(request.headers.range, file.size);
      reply.header('Content-Type', 'audio/wav').header('Accept-Ranges', 'bytes').header('Cache-Control', 'no-cache');
      if (range === null) {
        await encrypted?.close();
        reply.header('Content-Range', `bytes */${file.size}`);
        throw new HttpError(416, 'requested range is outside the file');
      }
      if (range) {
        reply
          .code(206)
          .header('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`)
          .header('Content-Length', range.end - range.start + 1);
        return reply.send(encrypted ? encrypted.stream(range.start, range.end) : createReadStream(file.path, { start: range.start, end: range.end }));
      }
      reply.header('Content-Length', file.size);
      return reply.send(encrypted ? encrypted.stream() : createReadStream(file.path));
    },
  );

  app.post(
    '/api/calls',
    {
      config: { roles: ROLE_SETS.operate },
      bodyLimit: BODY_LIMITS.originate,
      validatorCompiler: validatedByZod,
      schema: {
        summary: 'Place an outbound call through the connected PBX',
        body: jsonSchemaOf(originateCallRequestSchema),
        response: { 202: { type: 'object', properties: { callId: { type: 'string' } }, required: ['callId'] } },
      },
    },
    async (request, reply) => {
      const body = parseOrThrow(originateCallRequestSchema, request.body ?? {}, 'body');
      const target = opts.checkCallTarget?.({ flow: body.flow, lang: body.lang });
      if (target && !target.ok) throw new HttpError(400, target.message, { field: target.field, valid: target.valid });
      if (!opts.originate) {
        throw new HttpError(503, 'no PBX is connected: configure pbx.asterisk or pbx.freeswitch to place calls');
      }
      const outcome = await opts.originate(body);
      await audit.record(principalOf(request), 'call.originate', 'error' in outcome ? undefined : outcome.callId, {
        endpoint: maskText(body.endpoint),
        pbx: body.pbx ?? null,
        flow: body.flow ?? null,
        outcome: 'error' in outcome ? outcome.error : 'placed',
      });
      if ('error' in outcome) throw new HttpError(outcome.status ?? 502, outcome.error);
      opts.log.info({ callId: outcome.callId, endpoint: maskText(body.endpoint) }, 'outbound call requested');
      return reply.code(202).send({ callId: outcome.callId });
    },
  );
}

async function requireCall(store: CallStore, id: string): Promise<CallRecord> {
  const call = await store.getCall(id);
  if (!call) throw new HttpError(404, `no call ${id}`);
  return call;
}

/**
 * Opens an encrypted recording and checks every chunk before a byte is sent, so an altered file or a missing key is a
 * clear 500 (logged) rather than a download cut off half way.
 */
async function openDecrypted(path: string, keyring: RecordingKeyring | undefined, log: Logger): Promise<EncryptedRecording> {
  if (!keyring) {
    log.error('an encrypted recording was requested but no store.recordingKey is configured');
    throw new HttpError(500, 'recording is encrypted and this server has no store.recordingKey to read it');
  }
  let recording: EncryptedRecording | undefined;
  try {
    recording = await openEncryptedRecording(path, keyring);
    await recording.verify();
    return recording;
  } catch (err) {
    await recording?.close();
    if (err instanceof RecordingCryptoError) {
      log.error({ reason: err.reason, err: err.message }, 'recording cannot be decrypted');
      throw new HttpError(500, `recording cannot be decrypted: ${err.message}`, { reason: err.reason });
    }
    throw err;
  }
}
