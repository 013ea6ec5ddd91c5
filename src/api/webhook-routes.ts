import type { FastifyInstance } from 'fastify';
import { ROLE_SETS } from '../auth/index.ts';
import { maskWebhookPayload } from '../campaign/index.ts';
import type { CampaignStore, WebhookDelivery } from '../store/index.ts';
import { BODY_LIMITS } from './body-limits.ts';
import { HttpError } from './http-error.ts';

export interface WebhookRoutesOptions {
  store: CampaignStore;
  /** Wakes the sender so a replayed delivery goes out at once instead of at its next poll. */
  poke?: () => void;
  now?: () => number;
}

const idParams = { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 2 ** 53 - 1 } }, required: ['id'], additionalProperties: false } as const;
const STATES = ['pending', 'delivered', 'dead'] as const;

/** The outbox as readers see it: numbers in payloads masked (dead-letter triage never needs them in full). */
function view(d: WebhookDelivery): WebhookDelivery {
  return { ...d, payload: maskWebhookPayload(d.payload) };
}

/**
 * CRM webhook outbox: list deliveries (dead letters above all) and replay them. Auditors read, operators replay.
 */
export function registerWebhookRoutes(app: FastifyInstance, o: WebhookRoutesOptions): void {
  const iso = (): string => new Date(o.now?.() ?? Date.now()).toISOString();

  app.get<{ Querystring: { state?: (typeof STATES)[number]; campaign?: string; limit?: number } }>(
    '/api/webhooks',
    {
      config: { roles: ROLE_SETS.readCalls },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...STATES] },
            campaign: { type: 'string', pattern: '^[A-Za-z0-9_]{1,64}$' },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
      },
    },
    async (request) => {
      const deliveries = await o.store.listWebhooks({ state: request.query.state, campaignId: request.query.campaign, limit: request.query.limit });
      return { deliveries: deliveries.map(view) };
    },
  );

  app.get<{ Params: { id: number } }>('/api/webhooks/:id', { config: { roles: ROLE_SETS.readCalls }, schema: { params: idParams } }, async (request) => {
    const d = await o.store.getWebhook(request.params.id);
    if (!d) throw new HttpError(404, `no webhook delivery ${request.params.id}`);
    return { delivery: view(d) };
  });

  app.post<{ Params: { id: number } }>('/api/webhooks/:id/replay', { config: { roles: ROLE_SETS.operate }, bodyLimit: BODY_LIMITS.none, schema: { params: idParams } }, async (request) => {
    const id = request.params.id;
    if (!(await o.store.replayWebhook(id, iso()))) {
      const d = await o.store.getWebhook(id);
      if (!d) throw new HttpError(404, `no webhook delivery ${id}`);
      throw new HttpError(409, `webhook delivery ${id} is ${d.state}; only dead letters are replayed`, { state: d.state });
    }
    o.poke?.();
    return { delivery: view((await o.store.getWebhook(id))!) };
  });

  app.post<{ Body: { campaign?: string } }>(
    '/api/webhooks/replay',
    {
      config: { roles: ROLE_SETS.operate },
      bodyLimit: BODY_LIMITS.small,
      schema: { body: { type: 'object', additionalProperties: false, properties: { campaign: { type: 'string', pattern: '^[A-Za-z0-9_]{1,64}$' } } } },
    },
    async (request) => {
      // Up to 1000 per call: a larger backlog is replayed by calling again.
      const dead = await o.store.listWebhooks({ state: 'dead', campaignId: request.body?.campaign, limit: 1000 });
      const at = iso();
      let replayed = 0;
      for (const d of dead) if (await o.store.replayWebhook(d.id, at)) replayed++;
      if (replayed > 0) o.poke?.();
      return { replayed, more: dead.length === 1000 };
    },
  );
}
