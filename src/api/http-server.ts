import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerCallRoutes } from './calls-routes.ts';
import { registerConsole } from './console-assets.ts';
import { HttpError } from './http-error.ts';
import type { HttpServer, HttpServerOptions } from './http-types.ts';
import { WebSocketDispatcher } from './websocket-dispatch.ts';

/**
 * callpilot's one HTTP server: health, metrics, the REST API, the web console and every media WebSocket
 * (upgrades are dispatched to the routes the media layer and PBX adapters register).
 */
export async function createHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const log = opts.log.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new QuietRequestLog(),
    forceCloseConnections: true,
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    const statusCode = error.statusCode ?? 500;
    if (statusCode >= 500 && !(error instanceof HttpError)) log.error({ err: error, url: request.url }, 'request failed');
    const details = error instanceof HttpError ? error.details : {};
    const message = statusCode >= 500 && !(error instanceof HttpError) ? `internal error: ${error.message}` : error.message;
    return reply.code(statusCode).send({ error: message, statusCode, ...details });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}`, statusCode: 404 }),
  );

  app.get('/healthz', async () => ({ ok: true, uptimeSec: Math.round(process.uptime()) }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = opts.readiness();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  app.get('/metrics', async (_request, reply) => reply.header('Content-Type', opts.metrics.contentType).send(await opts.metrics.render()));
  registerCallRoutes(app, { store: opts.store, originate: opts.originate, checkCallTarget: opts.checkCallTarget, recordingsDir: opts.recordingsDir, log });
  registerConsole(app);

  const dispatcher = new WebSocketDispatcher(opts.webSocketRoutes, log);
  app.server.on('upgrade', (req, socket, head) => dispatcher.handleUpgrade(req, socket, head));

  await app.ready();
  let closed = false;
  return {
    async listen(): Promise<string> {
      await app.listen({ host: opts.config.host, port: opts.config.port });
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      log.info({ url }, 'HTTP server listening');
      return url;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      dispatcher.close();
      await app.close();
    },
  };
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
