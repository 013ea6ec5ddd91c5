import type { FastifyInstance } from 'fastify';
import type { HttpServerOptions } from './http-types.ts';

const edgeSchema = { type: 'object', properties: { via: { type: 'string' }, to: { type: 'string' } }, required: ['via', 'to'] } as const;

const flowSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    lang: { type: 'string' },
    version: { type: 'string', description: 'content hash of the flow file; each call stores the version it ran (flow_version)' },
    file: { type: 'string' },
    description: { type: 'string' },
    start: { type: 'string' },
    steps: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          say: { type: 'string' },
          kind: { type: 'string', enum: ['ask', 'goto', 'webhook', 'end', 'transfer'] },
          outcome: { type: 'string', description: 'end: the disposition; transfer: the reason' },
          edges: { type: 'array', items: edgeSchema },
        },
        required: ['name', 'kind', 'edges'],
      },
    },
    globals: { type: 'array', items: edgeSchema },
  },
  required: ['name', 'lang', 'version', 'file', 'start', 'steps', 'globals'],
} as const;

const pbxSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string', description: 'asterisk or freeswitch' },
    connected: { type: 'boolean', description: 'the adapter is connected and ready (ARI WebSocket / ESL socket up)' },
    detail: { type: 'string', description: 'why not, when not connected' },
  },
  required: ['kind', 'connected'],
} as const;

/** What this node runs, for the console: its loaded flows (steps and transitions) and its PBX connections. */
export function registerSystemRoutes(app: FastifyInstance, opts: Pick<HttpServerOptions, 'flows' | 'pbx'>): void {
  app.get(
    '/api/flows',
    {
      config: { roles: ['admin', 'operator', 'auditor'] },
      schema: {
        summary: 'Loaded flows, one entry per language version, with their steps and transitions',
        tags: ['flows'],
        response: { 200: { type: 'object', properties: { flows: { type: 'array', items: flowSchema } }, required: ['flows'] } },
      },
    },
    async () => ({ flows: opts.flows?.() ?? [] }),
  );
  app.get(
    '/api/pbx',
    {
      config: { roles: ['admin', 'operator', 'auditor'] },
      schema: {
        summary: "This node's PBX connections (none configured: an empty list) and whether each is connected",
        tags: ['health'],
        response: { 200: { type: 'object', properties: { pbx: { type: 'array', items: pbxSchema } }, required: ['pbx'] } },
      },
    },
    async () => ({ pbx: opts.pbx?.() ?? [] }),
  );
}
