import type { FastifyInstance } from 'fastify';
import type { HttpServerOptions } from './http-types.ts';

const nodeSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    address: { type: 'string' },
    version: { type: 'string' },
    capacity: { type: 'integer' },
    liveCalls: { type: 'integer' },
    draining: { type: 'boolean' },
    startedAt: { type: 'string', format: 'date-time' },
    heartbeatAt: { type: 'string', format: 'date-time' },
    alive: { type: 'boolean' },
  },
  required: ['id', 'address', 'version', 'capacity', 'liveCalls', 'draining', 'startedAt', 'heartbeatAt', 'alive'],
} as const;

/** GET /api/nodes: the callpilot nodes sharing this store, from their heartbeats. */
export function registerNodeRoutes(app: FastifyInstance, opts: Pick<HttpServerOptions, 'nodes'>): void {
  app.get(
    '/api/nodes',
    {
      config: { roles: ['admin', 'operator', 'auditor'] },
      schema: {
        summary: 'Nodes sharing this store, with capacity, live calls and heartbeat',
        response: { 200: { type: 'object', properties: { nodes: { type: 'array', items: nodeSchema } }, required: ['nodes'] } },
      },
    },
    async () => ({ nodes: opts.nodes ? await opts.nodes() : [] }),
  );
}
