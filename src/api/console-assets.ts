import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { FastifyInstance } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const CONSOLE_DIR = new URL('./console/', import.meta.url);

/**
 * Serves the web console: `/` is index.html, the rest is `/console/<file>`. The files are read once at start-up
 * and served from memory, so only names that exist in the folder can ever be served.
 */
export function registerConsole(app: FastifyInstance): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(CONSOLE_DIR)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(new URL(name, CONSOLE_DIR)), type });
  }
  const index = files.get('index.html');

  const login = files.get('login.html');

  const html = (summary: string) => ({
    summary,
    tags: ['console'],
    response: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } }, 404: { $ref: 'ErrorBody#' } },
  });
  app.get('/', { config: { roles: ['admin', 'operator', 'auditor'], loginRedirect: true }, schema: html('The web console (browsers without a session are sent to /login)') }, async (_request, reply) => {
    if (!index) return reply.code(404).send({ error: 'console not installed' });
    return reply.header('Content-Type', index.type).header('Cache-Control', 'no-cache').send(index.body);
  });
  app.get('/login', { config: { roles: 'public' }, schema: html('The console sign-in page') }, async (_request, reply) => {
    if (!login) return reply.code(404).send({ error: 'console not installed' });
    return reply.header('Content-Type', login.type).header('Cache-Control', 'no-cache').send(login.body);
  });
  // Static code and styles only, no data: public so the login page can load them.
  const assetSchema = {
    summary: 'A console script, style sheet or image',
    tags: ['console'],
    params: { type: 'object', properties: { file: { type: 'string', maxLength: 100 } }, required: ['file'] },
    response: { 200: { description: 'the file', content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } } },
  };
  app.get<{ Params: { file: string } }>('/console/:file', { config: { roles: 'public' }, schema: assetSchema }, async (request, reply) => {
    const file = files.get(request.params.file);
    if (!file) return reply.code(404).send({ error: `no console file ${request.params.file}` });
    return reply.header('Content-Type', file.type).header('Cache-Control', 'no-cache').send(file.body);
  });
}
