import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { allows, isRole, MEDIA_TOKEN_PARAM, type MediaTokens, type Principal, type Role } from '../auth/index.ts';
import type { WebSocketRoute } from '../media/index.ts';

/** What the dispatcher asks before an upgrade: Host, Origin and credentials (see access-control.ts). */
export interface UpgradeGuard {
  checkUpgrade(headers: IncomingHttpHeaders): Promise<{ ok: true; principal: Principal | undefined } | { ok: false; status: 401 | 403; message: string }>;
  /** Verifies the per-call tokens callpilot puts in the media URLs it hands to a PBX. */
  mediaTokens: MediaTokens;
}

/** The subprotocol callpilot's own media clients may ask for; routes without `protocols` accept it. */
export const CALLPILOT_MEDIA_SUBPROTOCOL = 'callpilot-media';

/** For routes that do not size their own: ws would otherwise buffer up to 100 MiB per message. */
export const DEFAULT_MAX_PAYLOAD = 64 * 1024;

export type RouteMatch =
  | { ok: true; route: DispatchedRoute; protocol: string | undefined }
  | { ok: false; status: 400 | 404; message: string };

type RejectStatus = 400 | 401 | 403 | 404 | 500;

/**
 * A route the dispatcher serves: the media layer's routes, or the API's own (the live feed), which also get who
 * connected and may narrow the paths under their prefix they serve (others are 404 before any upgrade).
 */
export interface DispatchedRoute extends Omit<WebSocketRoute, 'handle'> {
  handle(ws: WebSocket, req: IncomingMessage, principal?: Principal): void;
  accepts?(pathname: string): boolean;
}

/**
 * Pick the route for an upgrade: among routes registered on the longest path prefix (on a `/` boundary) that
 * matches, the one whose subprotocol rule accepts the client's offer. A route with `protocols` needs one of
 * them offered; a route without serves clients offering nothing or `callpilot-media`. So Asterisk's `/media` +
 * `Sec-WebSocket-Protocol: media` and a browser's plain `/media` reach different routes on the same path, while
 * a request for `/media/fork` never falls back to `/media`.
 */
export function matchWebSocketRoute(routes: readonly DispatchedRoute[], pathname: string, offered: readonly string[]): RouteMatch {
  let longest = -1;
  for (const route of routes) if (servesPath(route, pathname)) longest = Math.max(longest, normalizedPath(route.path).length);
  if (longest < 0) return { ok: false, status: 404, message: `no WebSocket endpoint at ${pathname}` };
  const candidates = routes.filter((route) => servesPath(route, pathname) && normalizedPath(route.path).length === longest);
  for (const route of candidates) {
    const protocol = acceptedProtocol(route, offered);
    if (protocol !== false) return { ok: true, route, protocol };
  }
  return {
    ok: false,
    status: 400,
    message: `the WebSocket endpoint at ${pathname} does not speak ${offered.length > 0 ? offered.join(', ') : 'without a subprotocol'}`,
  };
}

/** The subprotocol to answer with (undefined = none), or false when the route does not serve this offer. */
export function acceptedProtocol(route: DispatchedRoute, offered: readonly string[]): string | undefined | false {
  if (route.protocols && route.protocols.length > 0) {
    return offered.find((p) => route.protocols?.includes(p)) ?? false;
  }
  if (offered.length === 0) return undefined;
  return offered.includes(CALLPILOT_MEDIA_SUBPROTOCOL) ? CALLPILOT_MEDIA_SUBPROTOCOL : false;
}

function servesPath(route: DispatchedRoute, pathname: string): boolean {
  return pathMatches(route.path, pathname) && (route.accepts?.(pathname) ?? true);
}

function normalizedPath(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

function pathMatches(prefix: string, pathname: string): boolean {
  const base = normalizedPath(prefix);
  if (base === '') return true;
  return pathname === base || pathname.startsWith(`${base}/`);
}

export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (!header) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** Routes HTTP upgrade requests to one noServer WebSocketServer per route. */
export class WebSocketDispatcher {
  private readonly servers = new Map<DispatchedRoute, WebSocketServer>();
  private readonly routes: readonly DispatchedRoute[];
  private readonly log: Logger;
  private readonly guard: UpgradeGuard;

  constructor(routes: readonly DispatchedRoute[], log: Logger, guard: UpgradeGuard) {
    this.routes = routes;
    this.log = log;
    this.guard = guard;
    for (const route of routes) {
      // Deny by default: an endpoint that does not say who may connect is a bug, found at start-up.
      if (!route.roles || route.roles.length === 0 || !route.roles.every(isRole)) {
        throw new Error(`WebSocket route ${route.path} declares no roles: add roles: [...] (admin, operator, auditor, pbx)`);
      }
      this.servers.set(
        route,
        new WebSocketServer({
          noServer: true,
          maxPayload: route.maxPayload ?? DEFAULT_MAX_PAYLOAD,
          // The route was chosen for a protocol already; echo it so the client's handshake check passes.
          handleProtocols: (protocols: Set<string>) => acceptedProtocol(route, [...protocols]) || false,
        }),
      );
    }
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err: Error) => this.log.debug({ err }, 'upgrade socket error'));
    const pathname = pathnameOf(req.url);
    const match = matchWebSocketRoute(this.routes, pathname, offeredProtocols(req));
    if (!match.ok) {
      this.log.info({ path: pathname, status: match.status, protocols: req.headers['sec-websocket-protocol'] }, match.message);
      rejectUpgrade(socket, match.status, match.message);
      return;
    }
    const server = this.servers.get(match.route);
    if (!server) {
      rejectUpgrade(socket, 404, `no WebSocket endpoint at ${pathname}`);
      return;
    }
    this.authorize(req, match.route).then(
      ({ denial, principal }) => {
        if (denial) {
          this.log.warn({ path: pathname, status: denial.status, origin: req.headers.origin }, `WebSocket upgrade refused: ${denial.message}`);
          rejectUpgrade(socket, denial.status, denial.message);
          return;
        }
        if (socket.destroyed) return;
        this.accept(server, match.route, req, socket, head, pathname, principal);
      },
      (err: unknown) => {
        this.log.error({ err, path: pathname }, 'WebSocket upgrade check failed');
        rejectUpgrade(socket, 500, 'internal error');
      },
    );
  }

  /** No `denial`: let it in (`principal`: who, when credentials were presented). */
  private async authorize(
    req: IncomingMessage,
    route: DispatchedRoute,
  ): Promise<{ denial?: { status: RejectStatus; message: string }; principal?: Principal }> {
    const checked = await this.guard.checkUpgrade(req.headers);
    if (!checked.ok) return { denial: checked };
    return { denial: this.denialFor(req, route, checked.principal), principal: checked.principal };
  }

  private denialFor(req: IncomingMessage, route: DispatchedRoute, principal: Principal | undefined): { status: RejectStatus; message: string } | undefined {
    const roles = (route.roles ?? []) as readonly Role[];
    if (allows(roles, principal)) return undefined;
    if (principal) return { status: 403, message: `role ${principal.role} may not connect to ${route.path}` };
    // Per-call media tokens open PBX-only endpoints, never the operators' /media (it starts calls of its own).
    if (roles.length === 1 && roles[0] === 'pbx') {
      const url = new URL(req.url ?? '/', 'http://callpilot.invalid');
      const token = url.searchParams.get(MEDIA_TOKEN_PARAM);
      if (token && this.guard.mediaTokens.verify(token, url)) return undefined;
      if (token) return { status: 401, message: 'media token invalid, expired or for another call' };
    }
    return { status: 401, message: 'authentication required: Authorization: Bearer <token>, a console session, or the media URL callpilot handed out' };
  }

  private accept(server: WebSocketServer, route: DispatchedRoute, req: IncomingMessage, socket: Duplex, head: Buffer, pathname: string, principal: Principal | undefined): void {
    server.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      try {
        route.handle(ws, req, principal);
      } catch (err) {
        this.log.error({ err, path: pathname }, 'WebSocket route handler failed');
        ws.close(1011, 'internal error');
      }
    });
  }

  /** Drop every open connection; routes see their sockets close. */
  close(): void {
    for (const server of this.servers.values()) {
      for (const client of server.clients) client.terminate();
      server.close();
    }
  }
}

function pathnameOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://callpilot.invalid').pathname;
  } catch {
    return '/';
  }
}

const REASONS: Record<RejectStatus, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
};

function rejectUpgrade(socket: Duplex, status: RejectStatus, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: message });
  const reason = REASONS[status];
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
