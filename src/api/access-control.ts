import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { fastifyCookie } from '@fastify/cookie';
import { fastifySession, type SessionStore } from '@fastify/session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { allows, isRole, type Auth, type Principal, type RouteAccess } from '../auth/index.ts';
import type { TokenStore } from '../store/index.ts';
import type { ServerConfig } from './config.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route: roles, or `'public'`. Every route must say; registering one that does not throws. */
    roles?: RouteAccess;
    /** Browsers without a session are sent to /login instead of getting a 401. */
    loginRedirect?: boolean;
  }
  interface FastifyRequest {
    /** Who is calling (undefined on public routes without credentials). Set before any handler runs. */
    principal: Principal | undefined;
  }
  interface Session {
    tokenId?: string;
  }
}

export const SESSION_COOKIE = 'callpilot_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A route as registered, with what it declared (the enumeration test walks these). */
export interface DeclaredRoute {
  method: string;
  url: string;
  roles: RouteAccess;
  /** Largest request body accepted (the route's `bodyLimit`, else the server's). */
  bodyLimit: number;
  /** Whether the route declared a JSON schema (the OpenAPI document is built from them). */
  hasSchema: boolean;
  /** Browsers without a session are redirected to /login (pages) instead of getting a 401. */
  loginRedirect: boolean;
}

const DEFAULT_ACCESS = Symbol('callpilot.defaultRouteAccess');
type DefaultAccess = { roles: RouteAccess; loginRedirect: boolean };

/**
 * For routes a third-party plugin registers inside `scope` (it cannot pass `config.roles`): they get this access.
 * Only that encapsulated scope and its children are affected; elsewhere a route without roles still fails.
 */
export function withDefaultAccess(scope: FastifyInstance, roles: RouteAccess, opts: { loginRedirect?: boolean } = {}): void {
  scope.decorate(DEFAULT_ACCESS, { roles, loginRedirect: opts.loginRedirect ?? false } satisfies DefaultAccess);
}

export interface AccessControlOptions {
  auth: Auth;
  tokens: TokenStore;
  config: ServerConfig;
  log: Logger;
  /** The server-wide body limit, recorded for routes that do not set their own. */
  defaultBodyLimit?: number;
}

export interface AccessControl {
  /** Every route registered so far with its declared access. */
  readonly routes: DeclaredRoute[];
  /** Host and Origin checks plus credentials of a raw upgrade request; same rules as HTTP routes. */
  checkUpgrade(headers: IncomingHttpHeaders): Promise<{ ok: true; principal: Principal | undefined } | { ok: false; status: 401 | 403; message: string }>;
}

/**
 * Deny by default: installs the hooks every route goes through.
 * - onRoute: a route without `config.roles` cannot be registered.
 * - onRequest: `Host` against server.allowedHosts (DNS rebinding), credentials (bearer token or console session
 *   cookie) into `request.principal`, `Origin` on state-changing requests (CSRF), then the route's roles.
 */
export async function installAccessControl(app: FastifyInstance, opts: AccessControlOptions): Promise<AccessControl> {
  const { auth, config } = opts;
  const routes: DeclaredRoute[] = [];
  app.addHook('onRoute', function (route) {
    const fallback = (this as unknown as Record<symbol, DefaultAccess | undefined>)[DEFAULT_ACCESS];
    if (route.config?.roles === undefined && fallback) {
      route.config = { ...route.config, roles: fallback.roles, loginRedirect: fallback.loginRedirect };
    }
    const roles = route.config?.roles;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (roles !== 'public' && !(Array.isArray(roles) && roles.length > 0 && roles.every(isRole))) {
      throw new Error(
        `route ${methods.join(',')} ${route.url} declares no access: add config: { roles: [...] } (admin, operator, auditor, pbx) or 'public'`,
      );
    }
    for (const method of methods) routes.push({ method, url: route.url, roles, hasSchema: route.schema !== undefined, loginRedirect: route.config?.loginRedirect === true, bodyLimit: route.bodyLimit ?? opts.defaultBodyLimit ?? app.initialConfig.bodyLimit ?? 1_048_576 });
  });

  const sessionSecret = await opts.tokens.secret('session-cookie', () => randomSecret());
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: sessionSecret,
    cookieName: SESSION_COOKIE,
    store: new TokenStoreSessions(opts.tokens, opts.log),
    saveUninitialized: false,
    rolling: false,
    cookie: {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: config.secureCookies,
      maxAge: Math.round(config.sessionHours * 3_600_000),
    },
  });
  app.decorateRequest('principal', undefined);

  app.addHook('onRequest', async (request, reply) => {
    const host = request.headers.host;
    if (!hostAllowed(host, config.allowedHosts)) {
      return deny(reply, 403, `Host "${host ?? ''}" is not one of server.allowedHosts`);
    }
    const routeConfig = request.routeOptions.config as { roles?: RouteAccess; loginRedirect?: boolean } | undefined;
    const access = routeConfig?.roles;
    if (access === undefined) return; // no route matched: the not-found handler answers, nothing is served

    const credentials = await principalFromBearer(request.headers, auth);
    let principal = credentials.principal;
    if (!principal && !credentials.presented) principal = await principalFromSession(request, auth);

    if (!SAFE_METHODS.has(request.method)) {
      const origin = request.headers.origin;
      if (origin !== undefined && !originAllowed(origin, host, request.protocol === 'https', config.allowedOrigins)) {
        return deny(reply, 403, `cross-origin request from ${origin} refused`);
      }
      if (origin === undefined && principal?.via === 'session') {
        return deny(reply, 403, 'state-changing requests with a session cookie must carry an Origin header');
      }
    }
    request.principal = principal;
    if (access === 'public') return;
    if (!principal) {
      if (routeConfig?.loginRedirect && SAFE_METHODS.has(request.method)) {
        return reply.code(302).header('Location', `/login?next=${encodeURIComponent(request.url)}`).send();
      }
      return deny(reply, 401, credentials.presented ? 'invalid, expired or revoked token' : 'authentication required: send Authorization: Bearer <token> or sign in at /login');
    }
    if (!allows(access, principal)) {
      return deny(reply, 403, `role ${principal.role} may not ${request.method} ${request.routeOptions.url ?? request.url}`);
    }
  });

  // The console must not be framed by another site (clickjacking) nor have its JSON sniffed as something else.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Content-Security-Policy', "frame-ancestors 'none'");
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'same-origin');
  });

  return {
    routes,
    async checkUpgrade(headers) {
      const host = headers.host;
      if (!hostAllowed(host, config.allowedHosts)) return { ok: false, status: 403, message: `Host "${host ?? ''}" is not one of server.allowedHosts` };
      const origin = headers.origin;
      // ws: and wss: both map to the page's http(s) origin; the reverse proxy decides which the browser used.
      if (origin !== undefined && !originAllowed(origin, host, undefined, config.allowedOrigins)) {
        return { ok: false, status: 403, message: `WebSocket from origin ${origin} refused (server.allowedOrigins)` };
      }
      const credentials = await principalFromBearer(headers, auth);
      if (credentials.presented) {
        return credentials.principal ? { ok: true, principal: credentials.principal } : { ok: false, status: 401, message: 'invalid, expired or revoked token' };
      }
      const cookieValue = fastifyCookie.parse(headers.cookie ?? '')[SESSION_COOKIE];
      if (!cookieValue) return { ok: true, principal: undefined };
      const unsigned = fastifyCookie.unsign(cookieValue, sessionSecret);
      if (!unsigned.valid || !unsigned.value) return { ok: true, principal: undefined };
      const session = await opts.tokens.getSession(sha256(unsigned.value));
      if (!session || Date.parse(session.expiresAt) <= Date.now()) return { ok: true, principal: undefined };
      return { ok: true, principal: await auth.tokens.principalForId(session.tokenId, 'session') };
    },
  };
}

function deny(reply: FastifyReply, statusCode: 401 | 403, message: string): FastifyReply {
  if (statusCode === 401) reply.header('WWW-Authenticate', 'Bearer realm="callpilot"');
  return reply.code(statusCode).send({ error: message, statusCode });
}

/** Bearer (APIs) or Basic with the token as password (Asterisk websocket_client.conf can only send that). */
async function principalFromBearer(headers: IncomingHttpHeaders, auth: Auth): Promise<{ presented: boolean; principal?: Principal }> {
  const header = headers.authorization;
  if (!header) return { presented: false };
  const [scheme, value = ''] = header.trim().split(/\s+/, 2) as [string, string?];
  let secret: string | undefined;
  if (/^bearer$/i.test(scheme)) secret = value;
  else if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    secret = decoded.slice(decoded.indexOf(':') + 1);
  }
  if (!secret) return { presented: true };
  return { presented: true, principal: await auth.tokens.authenticate(secret, 'bearer') };
}

async function principalFromSession(request: FastifyRequest, auth: Auth): Promise<Principal | undefined> {
  const tokenId = request.session?.get?.('tokenId');
  if (typeof tokenId !== 'string') return undefined;
  const principal = await auth.tokens.principalForId(tokenId, 'session');
  // The token was revoked or expired since sign-in: the session ends with it.
  if (!principal) await request.session.destroy().catch(() => undefined);
  return principal;
}

/**
 * DNS rebinding needs a host *name* that an attacker re-points at us, so IP literals and `localhost` are always
 * fine; other names must be listed (`*` lists everything).
 */
export function hostAllowed(hostHeader: string | undefined, allowedHosts: readonly string[]): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.trim().toLowerCase();
  const name = hostnameOf(host);
  if (name === undefined) return false;
  if (isIP(name) !== 0 || name === 'localhost') return true;
  for (const entry of allowedHosts) {
    const allowed = entry.trim().toLowerCase();
    if (allowed === '*' || allowed === host || allowed === name) return true;
    if (allowed.startsWith('*.') && name.endsWith(allowed.slice(1))) return true;
  }
  return false;
}

function hostnameOf(host: string): string | undefined {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end) : undefined;
  }
  const colon = host.lastIndexOf(':');
  const name = colon >= 0 ? host.slice(0, colon) : host;
  return /^[a-z0-9.-]+$/.test(name) ? name : undefined;
}

/**
 * Same origin (the page was served by this very host) or listed in server.allowedOrigins. `https` undefined
 * accepts either scheme for the host (WebSocket upgrades cannot tell what a proxy in front terminated).
 */
export function originAllowed(origin: string, hostHeader: string | undefined, https: boolean | undefined, allowedOrigins: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  const normalized = `${parsed.protocol}//${parsed.host}`.toLowerCase();
  if (allowedOrigins.some((entry) => entry.replace(/\/+$/, '').toLowerCase() === normalized)) return true;
  if (!hostHeader) return false;
  const host = hostHeader.trim().toLowerCase();
  if (parsed.host.toLowerCase() !== host) return false;
  if (https === undefined) return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  return parsed.protocol === (https ? 'https:' : 'http:');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Console sessions in the store (they survive restarts), keyed by the sha256 of the session id so a copy of the
 * database does not hand out live cookies. Only signed-in sessions are written.
 */
class TokenStoreSessions implements SessionStore {
  constructor(
    private readonly tokens: TokenStore,
    private readonly log: Logger,
  ) {}

  set(sessionId: string, session: Parameters<SessionStore['set']>[1], callback: (err?: unknown) => void): void {
    const tokenId = session.tokenId;
    if (typeof tokenId !== 'string') {
      callback();
      return;
    }
    const expires = (session.cookie as { expires?: Date | string | null } | undefined)?.expires;
    const expiresAt = expires ? new Date(expires).toISOString() : new Date(Date.now() + 12 * 3_600_000).toISOString();
    this.tokens
      .putSession({ idHash: sha256(sessionId), tokenId, data: JSON.stringify(session), expiresAt, createdAt: new Date().toISOString() })
      .then(() => callback(), (err: unknown) => callback(err));
  }

  get(sessionId: string, callback: Parameters<SessionStore['get']>[1]): void {
    this.tokens
      .getSession(sha256(sessionId))
      .then((row) => {
        if (!row || Date.parse(row.expiresAt) <= Date.now()) return callback(null, null);
        callback(null, JSON.parse(row.data) as Parameters<typeof callback>[1]);
      })
      .catch((err: unknown) => {
        this.log.warn({ err }, 'reading a console session failed');
        callback(err as Error, null);
      });
  }

  destroy(sessionId: string, callback: (err?: unknown) => void): void {
    this.tokens.deleteSession(sha256(sessionId)).then(() => callback(), (err: unknown) => callback(err));
  }
}
