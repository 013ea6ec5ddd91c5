import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ROLE_SETS, type RouteAccess } from '../auth/index.ts';
import { CALLPILOT_VERSION } from '../core/index.ts';
import { withDefaultAccess } from './access-control.ts';

/**
 * The one error body every route answers with (validation, access, not found, handler errors): `error` is for
 * people, `statusCode` repeats the status, `field`/`issues` name what was wrong in a request.
 */
export const errorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  required: ['error', 'statusCode'],
  properties: {
    error: { type: 'string' },
    statusCode: { type: 'integer' },
    field: { type: 'string' },
    issues: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
  additionalProperties: true,
} as const;

/**
 * Who may read the API description and its browser page. Not public: the brief allows only health, readiness
 * and the login page without credentials, and the document is a map of every route and its roles. Every
 * signed-in console user (and any bearer token of those roles) may read it; the `pbx` role has no use for it.
 */
export const OPENAPI_ROLES: RouteAccess = ROLE_SETS.anyUser;

const ERROR_RESPONSE = { description: 'Error', $ref: 'ErrorBody#' } as const;

/**
 * Registers the OpenAPI generator. It collects routes through an onRoute hook, so it must be registered before
 * any route; the document is built from each route's JSON `schema` and its declared `config.roles`.
 */
export async function registerOpenApiCollector(app: FastifyInstance): Promise<void> {
  app.addSchema(errorBodySchema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'callpilot API',
        version: CALLPILOT_VERSION,
        description:
          'REST API of the callpilot voice-bot media server. Every operation lists the roles allowed to call it ' +
          '(`x-roles`). Authenticate with `Authorization: Bearer <token>` (tokens from `callpilot tokens create`) ' +
          'or the console session cookie. Errors always have the `ErrorBody` shape.',
      },
      components: {
        securitySchemes: {
          bearerToken: { type: 'http', scheme: 'bearer', description: 'an API token' },
          consoleSession: { type: 'apiKey', in: 'cookie', name: 'callpilot_session', description: 'the console session after /login' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => ({ url, schema: describeOperation(schema as Record<string, unknown> | undefined, route) }),
  });
}

/** Roles, security and the error responses go into the document only; the route's own schema is not touched. */
function describeOperation(schema: Record<string, unknown> | undefined, route: RouteOptions): Record<string, unknown> {
  const roles = (route.config as { roles?: RouteAccess } | undefined)?.roles;
  const base = { ...(schema ?? {}) };
  if (base['hide']) return base;
  const isPublic = roles === 'public';
  const response = { ...((base['response'] as Record<string, unknown> | undefined) ?? {}) };
  response['4XX'] ??= ERROR_RESPONSE;
  response['5XX'] ??= ERROR_RESPONSE;
  return {
    ...base,
    tags: base['tags'] ?? [tagOf(route.url)],
    security: isPublic ? [] : [{ bearerToken: [] }, { consoleSession: [] }],
    'x-roles': isPublic ? ['public'] : roles,
    description: [base['description'], `Roles: ${isPublic ? 'public' : (roles as readonly string[]).join(', ')}.`].filter(Boolean).join('\n\n'),
    response,
  };
}

function tagOf(url: string): string {
  const parts = url.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts[1]) return parts[1].replace(/^:.*/, 'api');
  return parts[0] ?? 'console';
}

/**
 * `/openapi.json` and the Swagger UI page at `/docs`, its assets served from node_modules (no CDN: the
 * server often runs where the internet is not reachable). Registered after every route so the document is complete.
 */
export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  app.get(
    '/openapi.json',
    {
      config: { roles: OPENAPI_ROLES },
      schema: { summary: 'This API description (OpenAPI 3.0)', response: { 200: { type: 'object', additionalProperties: true } } },
    },
    async (_request, reply) => reply.header('Cache-Control', 'no-cache').send(app.swagger()),
  );
  await app.register(async (docs) => {
    // The UI plugin registers its own page and asset routes: they get the same access as /openapi.json, and a
    // browser without a session is sent to the login page.
    withDefaultAccess(docs, OPENAPI_ROLES, { loginRedirect: true });
    await docs.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      // The page reads the same document from /docs/json (the plugin's fixed path).
      uiConfig: { docExpansion: 'list', deepLinking: true },
      // The page's own inline config is served as a script file; nothing is fetched from outside.
      staticCSP: false,
    });
  });
}
