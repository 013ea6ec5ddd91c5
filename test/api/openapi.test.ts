import { Validator } from '@seriousme/openapi-schema-validator';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer } from '../../src/api/index.ts';
import type { Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { world } from '../campaign/helpers.ts';
import { seededStore, startServer } from './fixtures.ts';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { 'x-roles'?: unknown; security?: unknown[]; responses?: Record<string, unknown> }>>;
}

const test = suite<{ server: HttpServer; url: string; token: string; doc: OpenApiDoc; store: Store }>('openapi', {} as never);

test.before(async (ctx) => {
  const store = await seededStore();
  ctx.store = store;
  // Campaign routes are only registered with a campaign service: give one so the document covers them too.
  const { service } = world();
  Object.assign(ctx, await startServer({ store, campaigns: service }));
  const response = await fetch(`${ctx.url}/openapi.json`, { headers: { authorization: `Bearer ${ctx.token}` } });
  assert.is(response.status, 200);
  ctx.doc = (await response.json()) as OpenApiDoc;
});
test.after(async ({ server }) => server.close());

/** fastify's `/a/:id` is OpenAPI's `/a/{id}`. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const isDocsUi = (url: string): boolean => url === '/docs' || url.startsWith('/docs/');

test('the document is valid OpenAPI 3', async ({ doc }) => {
  const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2)?.slice(0, 2000));
  assert.match(doc.openapi, /^3\./);
});

test('every route declares a schema and every documented route is in the document with its roles', ({ server, doc }) => {
  const missing = server.routes.filter((r) => !r.hasSchema).map((r) => `${r.method} ${r.url}`);
  assert.equal(missing, [], `routes without a JSON schema: ${missing.join(', ')}`);
  let covered = 0;
  for (const route of server.routes) {
    if (route.method === 'HEAD' || isDocsUi(route.url)) continue;
    const operation = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
    assert.ok(operation, `${route.method} ${route.url} is missing from /openapi.json`);
    assert.equal(operation['x-roles'], route.roles === 'public' ? ['public'] : route.roles, `${route.method} ${route.url} roles`);
    assert.equal(operation.security?.length ?? 0, route.roles === 'public' ? 0 : 2, `${route.method} ${route.url} security`);
    assert.ok(operation.responses?.['4XX'], `${route.method} ${route.url} documents its error body`);
    covered++;
  }
  assert.ok(covered >= 30, `only ${covered} operations checked`);
  for (const must of ['/api/calls', '/api/calls/{id}', '/api/campaigns', '/healthz', '/openapi.json']) assert.ok(doc.paths[must], must);
});

test('/openapi.json and /docs need a signed-in role; pbx tokens are refused', async ({ store, url, token }) => {
  const anonymous = await fetch(`${url}/openapi.json`);
  assert.is(anonymous.status, 401);
  const pbxToken = await issueToken(store, 'pbx');
  assert.is((await fetch(`${url}/openapi.json`, { headers: { authorization: `Bearer ${pbxToken}` } })).status, 403);
  const auditor = await issueToken(store, 'auditor');
  assert.is((await fetch(`${url}/openapi.json`, { headers: { authorization: `Bearer ${auditor}` } })).status, 200);

  const browser = await fetch(`${url}/docs`, { redirect: 'manual', headers: { accept: 'text/html' } });
  assert.is(browser.status, 302);
  assert.match(browser.headers.get('location') ?? '', /^\/login\?next=/);
  const page = await fetch(`${url}/docs`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(page.status, 200);
  const html = await page.text();
  assert.match(html, /swagger-ui/);
  assert.not.match(html, /https?:\/\/(?!localhost)[a-z]/i, 'the docs page loads nothing from outside');
  // The UI's assets come from node_modules through the server, behind the same roles.
  const bundle = await fetch(`${url}/docs/static/swagger-ui-bundle.js`, { headers: { authorization: `Bearer ${token}` } });
  assert.is(bundle.status, 200);
  assert.ok((await bundle.arrayBuffer()).byteLength > 100_000);
  const anonymousAsset = await fetch(`${url}/docs/static/swagger-ui-bundle.js`, { redirect: 'manual' });
  assert.is(anonymousAsset.status, 302, 'no asset without a session');
  assert.match(anonymousAsset.headers.get('location') ?? '', /^\/login/);
  const uiDoc = (await (await fetch(`${url}/docs/json`, { headers: { authorization: `Bearer ${token}` } })).json()) as OpenApiDoc;
  assert.ok(uiDoc.paths['/api/calls']);
});

test('errors have one body shape across routes: access, validation (zod and Ajv), not found, handler errors', async ({ url, token }) => {
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const cases: [string, RequestInit, number, string?][] = [
    ['/api/calls', {}, 401],
    ['/nope', { headers: auth }, 404],
    ['/api/calls/call-unknown', { headers: auth }, 404],
    ['/api/calls?limit=0', { headers: auth }, 400, 'limit'],
    ['/api/calls', { method: 'POST', headers: auth, body: JSON.stringify({ endpoint: 'PJSIP/1@t', bogus: 1 }) }, 400, 'bogus'],
    ['/api/tokens', { method: 'POST', headers: auth, body: JSON.stringify({ name: 'x' }) }, 400, 'role'],
    ['/api/calls', { method: 'POST', headers: auth, body: JSON.stringify({ endpoint: 'PJSIP/1@t' }) }, 503],
  ];
  for (const [path, init, status, field] of cases) {
    const response = await fetch(`${url}${path}`, init);
    const body = (await response.json()) as { statusCode: number; field?: string };
    assert.is(response.status, status, `${init.method ?? 'GET'} ${path}`);
    assert.ok(isErrorBody(body), `${path}: ${JSON.stringify(body)}`);
    assert.is(body.statusCode, status, path);
    if (field) assert.is(body.field, field, `${path} names the bad field`);
  }
});

/** The documented ErrorBody: `error` text and `statusCode`; `field`/`issues` when a request was malformed. */
function isErrorBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as Record<string, unknown>;
  if (typeof b['error'] !== 'string' || (b['error'] as string).length === 0 || !Number.isInteger(b['statusCode'])) return false;
  if (b['field'] !== undefined && typeof b['field'] !== 'string') return false;
  if (b['issues'] !== undefined) {
    if (!Array.isArray(b['issues'])) return false;
    for (const issue of b['issues'] as Record<string, unknown>[]) if (typeof issue['message'] !== 'string' || typeof issue['field'] !== 'string') return false;
  }
  return true;
}

test.run();
