import type { FastifyInstance } from 'fastify';
import { mayUnmask, ROLE_SETS, type AuditLog, type Principal } from '../auth/index.ts';
import { maskNumber, maskText, maskVariables } from '../core/index.ts';
import { CampaignError, importContacts, rejectsCsv, type CampaignAction, type CampaignService } from '../campaign/index.ts';
import type { AttemptRecord, CampaignStore, ContactRecord, DncEntry, ImportReject } from '../store/index.ts';
import { principalOf } from './auth-routes.ts';
import { BODY_LIMITS, DEFAULT_UPLOAD_LIMIT_BYTES } from './body-limits.ts';
import { HttpError } from './http-error.ts';

export interface CampaignRoutesOptions {
  campaigns: CampaignService;
  store: CampaignStore;
  /** Largest contact file accepted (server.uploadLimitBytes). */
  uploadLimitBytes?: number;
  /** Records reads with `?unmask=true`; without it such reads are refused. */
  audit?: AuditLog;
}

const idParams = { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_]{1,64}$' } }, required: ['id'] } as const;
const unmaskQuery = { type: 'boolean', default: false, description: 'full numbers: admins or tokens with the unmask grant; audited' } as const;
const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 10000 }, after: { type: 'string', pattern: '^[A-Za-z0-9_]{1,64}$' }, unmask: unmaskQuery },
} as const;
const contactListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { ...listQuery.properties, after: { type: 'integer', minimum: 0 }, state: { type: 'string', enum: ['pending', 'dialing', 'done', 'blocked', 'unknown'] } },
} as const;

// Readers without `?unmask=true` (allowed and audited) see every number of a person masked, as on the calls routes.
function maskContact(c: ContactRecord): ContactRecord {
  return { ...c, number: maskNumber(c.number), variables: maskVariables(c.variables) };
}

function maskAttempt(a: AttemptRecord): AttemptRecord {
  const m: AttemptRecord = { ...a, number: maskNumber(a.number) };
  if (a.slots) m.slots = maskVariables(a.slots);
  if (a.note !== undefined) m.note = maskText(a.note);
  return m;
}

function maskReject(r: ImportReject): ImportReject {
  return r.value === undefined ? r : { ...r, value: maskText(r.value) };
}

function maskDnc(e: DncEntry): DncEntry {
  const m: DncEntry = { ...e, number: maskNumber(e.number) };
  if (e.words !== undefined) m.words = maskText(e.words);
  return m;
}

/** REST for campaigns: operators run them, auditors read them, admins do both. */
export function registerCampaignRoutes(app: FastifyInstance, o: CampaignRoutesOptions): void {
  const wrap = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof CampaignError) throw new HttpError(err.status, err.message);
      throw err;
    }
  };
  // Contact files arrive as the raw body (text/csv or an XLSX's octet stream). The parser has no limit of its own:
  // only the import route raises it (to server.uploadLimitBytes), every other route keeps its small one.
  for (const type of ['text/csv', 'application/octet-stream', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet']) {
    if (!app.hasContentTypeParser(type)) app.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }
  const uploadLimit = o.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES;
  /** Whether this read shows full numbers: asked for, allowed, and written to the audit log first. */
  const unmasked = async (request: { principal: Principal | undefined }, asked: boolean | undefined, what: string, target: string): Promise<boolean> => {
    if (!asked) return false;
    const principal = principalOf(request);
    if (!mayUnmask(principal)) throw new HttpError(403, `role ${principal.role} without the unmask grant sees masked numbers only`);
    if (!o.audit) throw new HttpError(403, 'unmasked reads need the audit log, which this server has not got');
    await o.audit.record(principal, 'campaign.unmasked', target, { what });
    return true;
  };

  app.get('/api/campaigns', { config: { roles: ROLE_SETS.readCalls }, schema: { response: {} } }, async () => ({ campaigns: await o.store.listCampaigns() }));

  app.post('/api/campaigns', { config: { roles: ROLE_SETS.operate }, bodyLimit: BODY_LIMITS.campaign, schema: { body: { type: 'object' } } }, async (request, reply) =>
    reply.code(201).send({ campaign: await wrap(() => o.campaigns.create(request.body)) }),
  );

  app.get<{ Params: { id: string } }>('/api/campaigns/:id', { config: { roles: ROLE_SETS.readCalls }, schema: { params: idParams } }, async (request) =>
    wrap(async () => ({ campaign: await o.campaigns.get(request.params.id), stats: await o.campaigns.stats(request.params.id) })),
  );

  app.post<{ Params: { id: string; action: CampaignAction } }>(
    '/api/campaigns/:id/:action',
    {
      config: { roles: ROLE_SETS.operate },
      bodyLimit: BODY_LIMITS.none,
      schema: { params: { type: 'object', properties: { id: idParams.properties.id, action: { type: 'string', enum: ['start', 'pause', 'resume', 'stop'] } }, required: ['id', 'action'] } },
    },
    async (request) => wrap(async () => ({ campaign: await o.campaigns.act(request.params.id, request.params.action) })),
  );

  app.get<{ Params: { id: string } }>('/api/campaigns/:id/stats', { config: { roles: ROLE_SETS.readCalls }, schema: { params: idParams } }, async (request) =>
    wrap(async () => ({ stats: await o.campaigns.stats(request.params.id) })),
  );

  app.post<{ Params: { id: string }; Querystring: { file?: string } }>(
    '/api/campaigns/:id/contacts',
    { config: { roles: ROLE_SETS.operate }, bodyLimit: uploadLimit, schema: { params: idParams, querystring: { type: 'object', properties: { file: { type: 'string', maxLength: 200 } } } } },
    async (request, reply) =>
      wrap(async () => {
        if (!Buffer.isBuffer(request.body)) throw new HttpError(415, 'send the contact file as text/csv or an XLSX (application/octet-stream)');
        const campaign = await o.campaigns.get(request.params.id);
        // Contacts of a stopped campaign would never be dialled: say so instead of storing them.
        if (campaign.state === 'stopped') throw new HttpError(409, 'the campaign is stopped and never dials again: import the contacts into a new campaign');
        const profile = o.campaigns.o.profiles[campaign.profile];
        if (!profile) throw new HttpError(409, `unknown compliance profile ${campaign.profile}`);
        const result = await importContacts(request.body, {
          store: o.store,
          campaign,
          profile,
          defaultCountry: o.campaigns.o.defaultCountry,
          file: request.query.file ?? 'upload',
          now: () => o.campaigns.o.clock.now(),
        });
        const state = result.report.accepted > 0 ? (await o.campaigns.reopenAfterImport(campaign.id)).state : campaign.state;
        // Row and column find the line in the file; the rejected value itself may be a person's number.
        return reply.code(201).send({ report: result.report, rejects: result.rejects.slice(0, 100).map(maskReject), campaignState: state });
      }),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number; after?: number; state?: ContactRecord['state']; unmask?: boolean } }>(
    '/api/campaigns/:id/contacts',
    { config: { roles: ROLE_SETS.readCalls }, schema: { params: idParams, querystring: contactListQuery } },
    async (request) =>
      wrap(async () => {
        await o.campaigns.get(request.params.id);
        const full = await unmasked(request, request.query.unmask, 'contacts', request.params.id);
        const contacts = await o.store.listContacts(request.params.id, { limit: request.query.limit, afterId: request.query.after, state: request.query.state });
        return { contacts: full ? contacts : contacts.map(maskContact) };
      }),
  );

  app.get<{ Params: { id: string }; Querystring: { unmask?: boolean } }>(
    '/api/imports/:id/rejects.csv',
    { config: { roles: ROLE_SETS.readCalls }, schema: { params: idParams, querystring: { type: 'object', additionalProperties: false, properties: { unmask: unmaskQuery } } } },
    async (request, reply) => {
      const found = await o.store.getImportReport(request.params.id);
      if (!found) throw new HttpError(404, `no import report ${request.params.id}`);
      const full = await unmasked(request, request.query.unmask, 'import rejects', request.params.id);
      return reply
        .header('Content-Type', 'text/csv; charset=utf-8')
        .header('Content-Disposition', `attachment; filename="${found.report.id}-rejects.csv"`)
        .send(rejectsCsv(full ? found.rejects : found.rejects.map(maskReject)));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number; after?: string; unmask?: boolean } }>(
    '/api/campaigns/:id/attempts',
    { config: { roles: ROLE_SETS.readCalls }, schema: { params: idParams, querystring: listQuery } },
    async (request) =>
      wrap(async () => {
        await o.campaigns.get(request.params.id);
        const full = await unmasked(request, request.query.unmask, 'attempts', request.params.id);
        const attempts = await o.store.listAttempts(request.params.id, { limit: request.query.limit, afterId: request.query.after });
        return { attempts: full ? attempts : attempts.map(maskAttempt) };
      }),
  );

  app.get<{ Params: { id: string }; Querystring: { unmask?: boolean } }>(
    '/api/campaigns/:id/export.csv',
    { config: { roles: ROLE_SETS.readCalls }, schema: { params: idParams, querystring: { type: 'object', additionalProperties: false, properties: { unmask: unmaskQuery } } } },
    async (request, reply) => {
    await wrap(() => o.campaigns.get(request.params.id));
    const full = await unmasked(request, request.query.unmask, 'export', request.params.id);
    const cols = ['id', 'contactId', 'attemptNo', 'number', 'state', 'disposition', 'cause', 'progress', 'createdAt', 'answeredAt', 'endedAt', 'durationSec', 'callId'] as const;
    const q = (v: unknown): string => {
      const t = v === undefined || v === null ? '' : String(v);
      return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
    };
    const lines = [cols.join(',')];
    let after: string | undefined;
    for (;;) {
      const page = await o.store.listAttempts(request.params.id, { limit: 5000, afterId: after });
      for (const a of page) lines.push(cols.map((c) => q(c === 'number' && !full ? maskNumber(a.number) : a[c])).join(','));
      if (page.length < 5000) break;
      after = page[page.length - 1]!.id;
    }
    return reply.header('Content-Type', 'text/csv; charset=utf-8').send(`\uFEFF${lines.join('\n')}\n`);
    },
  );

  app.get<{ Querystring: { scope?: string; limit?: number; unmask?: boolean } }>(
    '/api/dnc',
    {
      config: { roles: ROLE_SETS.readCalls },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { scope: { type: 'string', pattern: '^[A-Za-z0-9_]{1,64}$' }, limit: { type: 'integer', minimum: 1, maximum: 10000 }, unmask: unmaskQuery },
        },
      },
    },
    async (request) => {
      const full = await unmasked(request, request.query.unmask, 'dnc', request.query.scope ?? 'all');
      const entries = await o.store.listDnc({ scope: request.query.scope, limit: request.query.limit });
      return { entries: full ? entries : entries.map(maskDnc) };
    },
  );

  app.post<{ Body: { numbers: string[]; scope?: string; reason?: string; expiresAt?: string } }>(
    '/api/dnc',
    {
      config: { roles: ROLE_SETS.operate },
      bodyLimit: BODY_LIMITS.dncList,
      schema: {
        body: {
          type: 'object',
          required: ['numbers'],
          additionalProperties: false,
          properties: {
            numbers: { type: 'array', items: { type: 'string', maxLength: 40 }, minItems: 1, maxItems: 100000 },
            scope: { type: 'string', maxLength: 64 },
            reason: { type: 'string', maxLength: 500 },
            expiresAt: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
    async (request, reply) => wrap(async () => reply.code(201).send(await o.campaigns.addDnc({ ...request.body, source: 'api' }))),
  );
}
