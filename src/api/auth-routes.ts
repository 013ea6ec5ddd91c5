import type { FastifyInstance } from 'fastify';
import { mayUnmask, parseExpiry, ROLE_SETS, TokenError, type Auth, type Principal } from '../auth/index.ts';
import { BODY_LIMITS } from './body-limits.ts';
import { HttpError } from './http-error.ts';

const tokenInfoSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string' },
    grants: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string' },
    expiresAt: { type: 'string' },
    revokedAt: { type: 'string' },
    lastUsedAt: { type: 'string' },
    createdBy: { type: 'string' },
    state: { type: 'string', enum: ['active', 'expired', 'revoked'] },
  },
} as const;

const whoamiSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    role: { type: 'string' },
    grants: { type: 'array', items: { type: 'string' } },
    unmask: { type: 'boolean' },
  },
} as const;

const auditEntrySchema = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string' },
    role: { type: 'string' },
    tokenId: { type: 'string' },
    action: { type: 'string' },
    target: { type: 'string' },
    detail: { type: 'object', additionalProperties: true },
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const;

/** The principal of an authenticated route (the access hook guarantees one). */
export function principalOf(request: { principal: Principal | undefined }): Principal {
  if (!request.principal) throw new HttpError(401, 'authentication required');
  return request.principal;
}

/** Console sign-in and -out, API tokens (admins) and the audit log (auditors, admins). */
export function registerAuthRoutes(app: FastifyInstance, opts: { auth: Auth }): void {
  const { auth } = opts;
  const whoami = (p: Principal) => ({ name: p.name, role: p.role, grants: [...p.grants], unmask: mayUnmask(p) });

  app.post<{ Body: { token: string } }>(
    '/api/session',
    {
      config: { roles: 'public' },
      bodyLimit: BODY_LIMITS.small,
      schema: {
        body: { type: 'object', required: ['token'], additionalProperties: false, properties: { token: { type: 'string', minLength: 1, maxLength: 200 } } },
        response: { 200: whoamiSchema },
      },
    },
    async (request) => {
      const principal = await auth.tokens.authenticate(request.body.token.trim(), 'session');
      if (!principal) throw new HttpError(401, 'unknown, expired or revoked token');
      if (principal.role === 'pbx') throw new HttpError(403, 'pbx tokens cannot sign in to the console');
      // A fresh id at sign-in: a session id planted before login is worth nothing after it.
      await request.session.regenerate();
      request.session.set('tokenId', principal.tokenId);
      await auth.audit.record(principal, 'session.login', principal.tokenId, { ip: request.ip });
      return whoami(principal);
    },
  );

  app.get('/api/session', { config: { roles: ROLE_SETS.anyUser }, schema: { response: { 200: whoamiSchema } } }, async (request) =>
    whoami(principalOf(request)),
  );

  app.delete('/api/session', { config: { roles: ROLE_SETS.anyUser }, bodyLimit: BODY_LIMITS.none, schema: { summary: 'Sign out (ends the console session)', response: { 204: { type: 'null', description: 'signed out' } } } }, async (request, reply) => {
    const principal = principalOf(request);
    if (principal.via === 'session') {
      await request.session.destroy();
      await auth.audit.record(principal, 'session.logout', principal.tokenId);
    }
    return reply.code(204).send();
  });

  app.post<{ Body: { name?: string; role: string; grants?: string[]; expires?: string } }>(
    '/api/tokens',
    {
      config: { roles: ROLE_SETS.admin },
      bodyLimit: BODY_LIMITS.small,
      schema: {
        body: {
          type: 'object',
          required: ['role'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', enum: ['admin', 'operator', 'auditor', 'pbx'] },
            grants: { type: 'array', maxItems: 10, items: { type: 'string', enum: ['unmask'] } },
            expires: { type: 'string', maxLength: 64, description: '30d, 12h, 90m or an ISO date/time' },
          },
        },
        response: { 201: { type: 'object', properties: { token: { type: 'string' }, info: tokenInfoSchema } } },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      try {
        const created = await auth.tokens.create({
          name: request.body.name,
          role: request.body.role,
          grants: request.body.grants,
          expiresAt: request.body.expires ? parseExpiry(request.body.expires) : undefined,
          createdBy: principal.name,
        });
        await auth.audit.record(principal, 'token.create', created.info.id, {
          name: created.info.name,
          role: created.info.role,
          grants: created.info.grants,
          expiresAt: created.info.expiresAt ?? null,
        });
        return reply.code(201).send(created);
      } catch (err) {
        if (err instanceof TokenError) throw new HttpError(400, err.message);
        throw err;
      }
    },
  );

  app.get('/api/tokens', { config: { roles: ROLE_SETS.admin }, schema: { response: { 200: { type: 'object', properties: { tokens: { type: 'array', items: tokenInfoSchema } } } } } }, async () => ({
    tokens: await auth.tokens.list(),
  }));

  app.delete<{ Params: { id: string } }>(
    '/api/tokens/:id',
    { config: { roles: ROLE_SETS.admin }, bodyLimit: BODY_LIMITS.none, schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 100 } } } } },
    async (request, reply) => {
      const principal = principalOf(request);
      const existing = await auth.tokens.get(request.params.id);
      if (!existing) throw new HttpError(404, `no token ${request.params.id}`);
      if (!(await auth.tokens.revoke(existing.id))) throw new HttpError(409, `token ${existing.id} is already revoked`);
      await auth.audit.record(principal, 'token.revoke', existing.id, { name: existing.name, role: existing.role });
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { after?: number; before?: number; limit?: number } }>(
    '/api/audit',
    {
      config: { roles: ROLE_SETS.audit },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, description: 'oldest first, rows after this seq' },
            before: { type: 'integer', minimum: 1, description: 'newest first, rows before this seq' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { entries: { type: 'array', items: auditEntrySchema }, next: { type: ['string', 'null'] } },
          },
        },
      },
    },
    async (request) => {
      const { after, before, limit = 100 } = request.query;
      const entries = await auth.audit.list({ after, before, limit });
      const last = entries.at(-1);
      // A full page may have more behind it: the cursor continues in the same direction.
      const next = entries.length === limit && last ? (before !== undefined ? `before=${last.seq}` : `after=${last.seq}`) : null;
      return { entries, next };
    },
  );

  app.get('/api/audit/verify', { config: { roles: ROLE_SETS.audit }, schema: { summary: 'Check the audit log hash chain end to end', response: { 200: { type: 'object', additionalProperties: true } } } }, async () => auth.audit.verify());
}
