import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { createAuth, type RouteAccess } from '../auth/index.ts';
import { installAccessControl } from './access-control.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { registerCallRoutes } from './calls-routes.ts';
import { registerCampaignRoutes } from './campaign-routes.ts';
import { registerWebhookRoutes } from './webhook-routes.ts';
import { registerConsole } from './console-assets.ts';
import { registerNodeRoutes } from './nodes-routes.ts';
import { registerSystemRoutes } from './system-routes.ts';
import { registerQaRoutes } from './qa-routes.ts';
import { liveWebSocketRoutes, registerLiveRoutes, type LiveRoutesOptions } from './live-routes.ts';
import { BODY_LIMITS } from './body-limits.ts';
import { HttpError } from './http-error.ts';
import { registerApiDocs, registerOpenApiCollector } from './openapi.ts';
import type { HttpServer, HttpServerOptions } from './http-types.ts';
import { WebSocketDispatcher } from './websocket-dispatch.ts';

/**
 * callpilot's one HTTP server: health, metrics, the REST API, the web console and every media WebSocket
 * (upgrades are dispatched to the routes the media layer and PBX adapters register).
 */
export async function createHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const log = opts.log.child({ component: 'http' });
  const prebound = opts.prebound;
  let handler: RequestListener | undefined;
  const app = Fastify({
    // A prebound server keeps listening; fastify only gets its requests (see listen()).
    ...(prebound
      ? {
          serverFactory: (h: RequestListener) => {
            handler = h;
            return prebound.server;
          },
        }
      : {}),
    loggerInstance: log as FastifyBaseLogger,
    logController: new QuietRequestLog(),
    forceCloseConnections: true,
    // Routes that take bodies set their own limit (body-limits.ts); everything else gets this small one.
    bodyLimit: BODY_LIMITS.default,
    // Behind an HTTPS reverse proxy (secureCookies) the proxy's X-Forwarded-Proto says the request was https.
    trustProxy: opts.config.secureCookies,
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const statusCode = error.statusCode ?? 500;
    if (statusCode >= 500 && !(error instanceof HttpError)) log.error({ err: error, url: request.url }, 'request failed');
    const details = error instanceof HttpError ? error.details : validationDetails(error);
    let message = statusCode >= 500 && !(error instanceof HttpError) ? `internal error: ${error.message}` : error.message;
    if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = request.routeOptions.bodyLimit ?? BODY_LIMITS.default;
      message = `request body too large: ${request.method} ${request.routeOptions.url ?? ''} accepts at most ${limit} bytes`;
      // The client may still be sending: do not keep the connection for the rest of a body we will never read.
      reply.header('Connection', 'close');
    }
    return reply.code(statusCode).send({ error: message, statusCode, ...details });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}`, statusCode: 404 }),
  );

  const auth = opts.auth ?? createAuth(opts.store);
  // Before any route: from here on a route that does not declare its roles cannot be registered.
  const access = await installAccessControl(app, { auth, tokens: opts.store.tokens, config: opts.config, log });

  // Before any route: it collects them (with their schemas and roles) for /openapi.json.
  await registerOpenApiCollector(app);

  app.get(
    '/healthz',
    {
      config: { roles: 'public' },
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['health'],
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' }, uptimeSec: { type: 'integer' } }, required: ['ok', 'uptimeSec'] } },
      },
    },
    async () => ({ ok: true, uptimeSec: Math.round(process.uptime()) }),
  );
  const readinessSchema = {
    type: 'object',
    properties: {
      ready: { type: 'boolean' },
      // Documented drain contract (issue 9): a response schema drops unlisted fields, so it must be listed.
      status: { type: 'string', enum: ['draining'], description: 'present while the node drains (SIGTERM)' },
      checks: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } }, required: ['ok'] } },
    },
    required: ['ready', 'checks'],
  } as const;
  const readyzOptions = {
    config: { roles: 'public' as const },
    schema: { summary: 'Readiness: speech, store and PBX connections', tags: ['health'], response: { 200: readinessSchema, 503: readinessSchema } },
  };
  app.get('/readyz', readyzOptions, async (_request, reply) => {
    const readiness = opts.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  const metricsAccess: RouteAccess = opts.metricsPublic ? 'public' : ['admin', 'operator', 'auditor'];
  const metricsSchema = {
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['health'],
    response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
  };
  app.get('/metrics', { config: { roles: metricsAccess }, schema: metricsSchema }, async (_request, reply) =>
    reply.header('Content-Type', opts.metrics.contentType).send(await opts.metrics.render()),
  );
  registerAuthRoutes(app, { auth });
  registerCallRoutes(app, { store: opts.store, originate: opts.originate, checkCallTarget: opts.checkCallTarget, recordingsDir: opts.recordingsDir, recordingStorage: opts.recordingStorage, recordingKeyring: opts.recordingKeyring, log, audit: auth.audit });
  registerNodeRoutes(app, { nodes: opts.nodes });
  registerSystemRoutes(app, { flows: opts.flows, pbx: opts.pbx });
  registerQaRoutes(app, { qa: opts.store.qa });
  const liveOptions: LiveRoutesOptions | undefined = opts.live ? { live: opts.live, calls: opts.store.calls, audit: auth.audit, config: opts.config, log } : undefined;
  if (liveOptions) registerLiveRoutes(app, liveOptions);
  if (opts.campaigns) registerCampaignRoutes(app, { campaigns: opts.campaigns, store: opts.store.campaigns, uploadLimitBytes: opts.config.uploadLimitBytes, audit: auth.audit });
  registerWebhookRoutes(app, { store: opts.store.campaigns, poke: opts.webhooks ? () => opts.webhooks?.poke() : undefined });
  registerConsole(app);
  await registerApiDocs(app);

  const webSocketRoutes = [...opts.webSocketRoutes, ...(liveOptions ? liveWebSocketRoutes(liveOptions) : [])];
  const dispatcher = new WebSocketDispatcher(webSocketRoutes, log, {
    checkUpgrade: (headers) => access.checkUpgrade(headers),
    mediaTokens: auth.mediaTokens,
  });
  const upgrade = (...[req, socket, head]: Parameters<WebSocketDispatcher['handleUpgrade']>): void => dispatcher.handleUpgrade(req, socket, head);

  await app.ready();
  let closed = false;
  return {
    routes: access.routes,
    webSocketEndpoints: webSocketRoutes.map((r) => ({ path: r.path, protocols: r.protocols, roles: r.roles ?? [] })),
    async listen(): Promise<string> {
      // Upgrades are dispatched only from here: before, a prebound server refuses them itself.
      app.server.on('upgrade', upgrade);
      if (prebound) prebound.handOver(handler!);
      else await app.listen({ host: opts.config.host, port: opts.config.port });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      log.info({ url }, 'HTTP server listening');
      return url;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      opts.live?.close();
      dispatcher.close();
      await app.close();
      // fastify closes only servers it made listen.
      if (prebound?.server.listening) {
        prebound.server.closeAllConnections();
        await new Promise<void>((resolve) => prebound.server.close(() => resolve()));
      }
    },
  };
}

/** Ajv's validation errors named like the zod-parsed routes name theirs: `field` and `issues`. */
function validationDetails(error: FastifyError): Record<string, unknown> {
  if (!error.validation) return {};
  const issues = error.validation.map((v) => {
    const params = v.params as { missingProperty?: string; additionalProperty?: string };
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const field = params.missingProperty ?? params.additionalProperty ?? path;
    return { field: field || (error.validationContext ?? ''), message: v.message ?? 'invalid' };
  });
  return { field: issues[0]?.field, issues };
}

/** The console polls every couple of seconds: request lines go to debug so they do not drown the call logs. */
class QuietRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.url }, 'request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    request.log.debug({ statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime), err: error ?? undefined }, 'response');
  }
}
