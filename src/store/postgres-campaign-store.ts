import type pg from 'pg';
import {
  attemptFromRow,
  campaignFromRow,
  clampLimit,
  contactFromRow,
  dncFromRow,
  specOf,
  sqlList,
  webhookFromRow,
  type Row,
} from './campaign-rows.ts';
import type {
  AttemptOutcome,
  AttemptRecord,
  CampaignRecord,
  CampaignState,
  CampaignStats,
  CampaignStore,
  ClaimRequest,
  ClaimResult,
  ContactInput,
  ContactNext,
  ContactRecord,
  ContactState,
  DncEntry,
  ImportReject,
  ImportReport,
  WebhookDelivery,
  WebhookEnqueue,
  WebhookState,
  TransferCounts,
  TrunkPace,
} from './campaign-types.ts';
import { ABANDONED_DISPOSITIONS, NO_CONSENT, TRANSFER_DISPOSITIONS } from './campaign-types.ts';
import { isUniqueViolation, type PostgresDatabase } from './postgres-database.ts';
import { StoreError } from './store-error.ts';

type Q = Pick<pg.PoolClient, 'query'>;

const INSERT_WEBHOOK = `INSERT INTO webhooks (campaign_id, event, idempotency_key, payload, state, next_at, created_at)
  VALUES ($1, $2, $3, $4::jsonb, 'pending', $5, $6) ON CONFLICT (idempotency_key) DO NOTHING`;

async function insertWebhook(q: Q, w: WebhookEnqueue, now: string): Promise<void> {
  await q.query(INSERT_WEBHOOK, [w.campaignId, w.event, w.idempotencyKey, JSON.stringify(w.payload), now, now]);
}

const count = (rows: { n: string | number }[]): number => Number(rows[0]?.n ?? 0);

/**
 * One call from a trunk's CPS budget, in one atomic upsert: refill by elapsed time up to the burst, take one if at
 * least one is there; no row back = no token.
 */
async function takeToken(q: pg.Pool | pg.PoolClient, trunk: string, { ratePerSec, burst, nowMs }: TrunkPace): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO trunk_pacing (trunk, tokens, updated_ms) VALUES ($1, 0, $3)
     ON CONFLICT (trunk) DO UPDATE SET
       tokens = LEAST($4::double precision, trunk_pacing.tokens + GREATEST(0, $3 - trunk_pacing.updated_ms) / 1000.0 * $2) - 1,
       updated_ms = GREATEST(trunk_pacing.updated_ms, $3)
     WHERE LEAST($4::double precision, trunk_pacing.tokens + GREATEST(0, $3 - trunk_pacing.updated_ms) / 1000.0 * $2) >= 1
     RETURNING tokens`,
    [trunk, ratePerSec, nowMs, burst],
  );
  return r.rowCount === 1;
}

/** The advisory lock that orders a campaign's imports against its finish. */
function importLockKey(campaignId: string): string {
  return `callpilot-campaign-import:${campaignId}`;
}

/**
 * Campaign data in PostgreSQL, shared by every node. The claim is one transaction that locks the contact row with
 * `FOR UPDATE SKIP LOCKED` (a contact another node is claiming is simply `taken`, nobody waits) and holds a
 * transaction-scoped advisory lock on the number, so DNC and frequency caps hold across campaigns and nodes. The
 * attempt row (unique per campaign, contact, attempt number) is committed before anything is dialled.
 */
export class PostgresCampaignStore implements CampaignStore {
  constructor(private readonly db: PostgresDatabase) {}

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.db.pool.query(sql, params)).rows as Row[];
  }

  async createCampaign(c: CampaignRecord): Promise<void> {
    try {
      await this.db.pool.query('INSERT INTO campaigns (id, name, state, priority, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)', [
        c.id, c.name, c.state, c.priority, specOf(c), c.createdAt, c.updatedAt,
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError(`campaign ${c.id} already exists`, 'createCampaign', { cause: err });
      throw new StoreError(`campaign ${c.id}: ${(err as Error).message}`, 'createCampaign', { cause: err });
    }
  }

  async getCampaign(id: string): Promise<CampaignRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM campaigns WHERE id = $1', [id]);
    return row ? campaignFromRow(row) : undefined;
  }

  async listCampaigns(opts: { state?: CampaignState } = {}): Promise<CampaignRecord[]> {
    const rows = opts.state
      ? await this.rows('SELECT * FROM campaigns WHERE state = $1 ORDER BY priority DESC, created_at', [opts.state])
      : await this.rows('SELECT * FROM campaigns ORDER BY priority DESC, created_at');
    return rows.map(campaignFromRow);
  }

  async updateCampaign(id: string, patch: Partial<Omit<CampaignRecord, 'id' | 'createdAt' | 'state'>>, now: string): Promise<void> {
    await this.db.transaction(async (q) => {
      const { rows } = await q.query('SELECT * FROM campaigns WHERE id = $1 FOR UPDATE', [id]);
      if (!rows[0]) throw new StoreError(`no campaign ${id}`, 'updateCampaign');
      const merged = { ...campaignFromRow(rows[0] as Row), ...patch, id };
      await q.query('UPDATE campaigns SET name = $1, priority = $2, spec = $3::jsonb, updated_at = $4 WHERE id = $5', [merged.name, merged.priority, specOf(merged), now, id]);
    });
  }

  async setState(id: string, from: CampaignState[], to: CampaignState, now: string, webhook?: WebhookEnqueue): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const { rows } = await q.query('SELECT state FROM campaigns WHERE id = $1 FOR UPDATE', [id]);
      const state = rows[0]?.state as CampaignState | undefined;
      if (!state || !from.includes(state)) return false;
      await q.query('UPDATE campaigns SET state = $1, updated_at = $2 WHERE id = $3', [to, now, id]);
      if (webhook) await insertWebhook(q, webhook, now);
      return true;
    });
  }

  async addContacts(campaignId: string, contacts: ContactInput[], now: string): Promise<{ inserted: number; duplicates: number[] }> {
    return this.db.transaction(async (q) => {
      // Shared with other imports, exclusive of a finish (finishIfDrained): see there.
      await q.query('SELECT pg_advisory_xact_lock_shared(hashtext($1))', [importLockKey(campaignId)]);
      const { rows } = await q.query('SELECT 1 FROM campaigns WHERE id = $1', [campaignId]);
      if (!rows[0]) throw new StoreError(`no campaign ${campaignId}`, 'addContacts');
      let inserted = 0;
      const duplicates: number[] = [];
      // Rows go in batches (one statement each), input order kept, so a 100,000-row import is a few hundred round trips.
      const BATCH = 500;
      for (let start = 0; start < contacts.length; start += BATCH) {
        const batch = contacts.slice(start, start + BATCH);
        const values: unknown[] = [];
        const tuples = batch.map((c, i) => {
          const b = i * 9;
          values.push(campaignId, c.number, c.role ?? null, c.timeZone ?? null, c.consent ?? false, JSON.stringify(c.variables), c.rowNo ?? null, c.notBefore ?? now, start + i);
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::jsonb, $${b + 7}, 'pending', $${b + 8}, $${b + 9})`;
        });
        const result = await q.query(
          `INSERT INTO contacts (campaign_id, number, role, time_zone, consent, variables, row_no, state, next_at, import_seq)
           VALUES ${tuples.join(', ')} ON CONFLICT (campaign_id, number) DO NOTHING RETURNING import_seq`,
          values,
        );
        const took = new Set(result.rows.map((r) => Number((r as Row).import_seq)));
        inserted += took.size;
        for (let i = 0; i < batch.length; i++) if (!took.has(start + i)) duplicates.push(start + i);
      }
      return { inserted, duplicates };
    });
  }

  async getContact(id: number): Promise<ContactRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM contacts WHERE id = $1', [id]);
    return row ? contactFromRow(row) : undefined;
  }

  async listContacts(campaignId: string, opts: { limit?: number; afterId?: number; state?: ContactState } = {}): Promise<ContactRecord[]> {
    const limit = clampLimit(opts.limit, 100, 10_000, 'listContacts');
    const rows = opts.state
      ? await this.rows('SELECT * FROM contacts WHERE campaign_id = $1 AND id > $2 AND state = $3 ORDER BY id LIMIT $4', [campaignId, opts.afterId ?? 0, opts.state, limit])
      : await this.rows('SELECT * FROM contacts WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3', [campaignId, opts.afterId ?? 0, limit]);
    return rows.map(contactFromRow);
  }

  /** Candidates only: several nodes may read the same ones; the claim decides who dials (the others get `taken`). */
  async dueContacts(campaignId: string, now: string, limit: number): Promise<ContactRecord[]> {
    const rows = await this.rows(`SELECT * FROM contacts WHERE campaign_id = $1 AND state = 'pending' AND next_at <= $2 ORDER BY next_at, id LIMIT $3`, [
      campaignId,
      now,
      limit,
    ]);
    return rows.map(contactFromRow);
  }

  async deferContact(id: number, next: ContactNext, reason?: string): Promise<void> {
    await this.db.pool.query(
      `UPDATE contacts SET state = $1, next_at = $2, last_disposition = coalesce($3, last_disposition) WHERE id = $4 AND state = 'pending'`,
      [next.state, next.nextAt ?? null, reason ?? null, id],
    );
  }

  async finishIfDrained(campaignId: string, now: string, webhook?: WebhookEnqueue): Promise<boolean> {
    // The dialer asks every pass while a campaign has nothing due: most answers are "still open", without a lock.
    const open = `SELECT 1 FROM contacts WHERE campaign_id = $1 AND state IN ('pending', 'dialing') LIMIT 1`;
    if ((await this.rows(open, [campaignId])).length > 0) return false;
    return this.db.transaction(async (q) => {
      // An import in flight on any node holds this lock shared, so it is not finished now (the dialer asks again
      // next pass; waiting here would hold up its whole pass for a long import). Once the lock is taken, an import
      // starts only after this commits, and the campaign service reopens a campaign it finds finished. Without the
      // lock a finish could read "no open contact" just before an import committed and finish just after it,
      // stranding the imported contacts.
      const { rows: locked } = await q.query('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [importLockKey(campaignId)]);
      if ((locked[0] as Row | undefined)?.ok !== true) return false;
      const { rows } = await q.query('SELECT state FROM campaigns WHERE id = $1 FOR UPDATE', [campaignId]);
      if ((rows[0] as Row | undefined)?.state !== 'running') return false;
      if ((await q.query(open, [campaignId])).rows.length > 0) return false;
      await q.query(`UPDATE campaigns SET state = 'finished', updated_at = $1 WHERE id = $2`, [now, campaignId]);
      if (webhook) await insertWebhook(q, webhook, now);
      return true;
    });
  }

  async claimAttempt(req: ClaimRequest): Promise<ClaimResult> {
    try {
      return await this.db.transaction(async (q): Promise<ClaimResult> => {
        // Unlocked here (losers of the race below leave early); locked and read again just before the insert.
        const running = (await q.query('SELECT state FROM campaigns WHERE id = $1', [req.campaignId])).rows[0] as Row | undefined;
        if (!running || running.state !== 'running') return { ok: false, reason: 'not-running' };
        const contact = (await q.query('SELECT * FROM contacts WHERE id = $1 FOR UPDATE SKIP LOCKED', [req.contactId])).rows[0] as Row | undefined;
        if (!contact) {
          const exists = (await q.query('SELECT campaign_id FROM contacts WHERE id = $1', [req.contactId])).rows[0] as Row | undefined;
          return exists && exists.campaign_id === req.campaignId ? { ok: false, reason: 'taken', detail: 'claimed by another node' } : { ok: false, reason: 'no-contact' };
        }
        if (contact.campaign_id !== req.campaignId) return { ok: false, reason: 'no-contact' };
        if (contact.state !== 'pending' || (contact.next_at as string) > req.now) return { ok: false, reason: 'taken' };
        if (req.requireConsent && !contact.consent) {
          await q.query(`UPDATE contacts SET state = 'blocked', next_at = NULL, last_disposition = $1 WHERE id = $2`, [NO_CONSENT, req.contactId]);
          return { ok: false, reason: 'no-consent' };
        }
        const number = contact.number as string;
        // One claim per number at a time, whatever the campaign or node: DNC and caps are read and acted on atomically.
        await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`callpilot-number:${number}`]);
        const dnc = (
          await q.query(
            `SELECT * FROM dnc WHERE number = $1 AND scope IN ('global', $2) AND (expires_at IS NULL OR expires_at > $3) ORDER BY scope = 'global' DESC LIMIT 1`,
            [number, req.campaignId, req.now],
          )
        ).rows[0] as Row | undefined;
        if (dnc) {
          await q.query(`UPDATE contacts SET state = 'blocked', next_at = NULL, last_disposition = 'dnc' WHERE id = $1`, [req.contactId]);
          return { ok: false, reason: 'dnc', detail: `${dnc.scope}: ${dnc.reason}` };
        }
        const caps = req.caps;
        const since = async (from: string, connectedOnly: boolean): Promise<number> =>
          count(
            (
              await q.query(
                `SELECT count(*) AS n FROM attempts WHERE number = $1 AND created_at >= $2${connectedOnly ? ' AND answered_at IS NOT NULL' : ''}`,
                [number, from],
              )
            ).rows as { n: string }[],
          );
        const over = (n: number, max: number | undefined): boolean => max !== undefined && n >= max;
        let capHit: string | undefined;
        if (over(await since(caps.dayStart, false), caps.maxAttemptsPerDay)) capHit = 'attempts per day';
        else if (over(await since(caps.weekStart, false), caps.maxAttemptsPerWeek)) capHit = 'attempts per week';
        else if (over(await since(caps.dayStart, true), caps.maxConnectedPerDay)) capHit = 'connected calls per day';
        if (capHit) {
          await q.query(`UPDATE contacts SET next_at = $1 WHERE id = $2 AND state = 'pending'`, [caps.nextDay, req.contactId]);
          return { ok: false, reason: 'cap', detail: capHit };
        }
        // Last, so the lock is held only for the count and the insert: claims of one campaign take turns here, so the
        // in-flight count is every node's, and two nodes can never both take the last place under maxConcurrent.
        const campaign = (await q.query(`SELECT state, (spec->>'maxConcurrent')::int AS max_concurrent FROM campaigns WHERE id = $1 FOR UPDATE`, [req.campaignId])).rows[0] as Row | undefined;
        if (!campaign || campaign.state !== 'running') return { ok: false, reason: 'not-running' };
        const inFlight = count((await q.query(`SELECT count(*) AS n FROM attempts WHERE campaign_id = $1 AND state IN ('dialing', 'live')`, [req.campaignId])).rows as { n: string }[]);
        if (inFlight >= Number(campaign.max_concurrent)) return { ok: false, reason: 'full', detail: `${inFlight} of ${campaign.max_concurrent} in flight` };
        // The trunk's row is locked last and only by claims about to succeed (nothing written yet if it says no).
        if (req.pacing && !(await takeToken(q, req.trunk, req.pacing))) return { ok: false, reason: 'paced' };
        const attemptNo = Number(contact.attempts) + 1;
        const inserted = await q.query(
          `INSERT INTO attempts (id, campaign_id, contact_id, attempt_no, number, state, node_id, lease_until, trunk, caller_id, created_at, pbx_call_id)
           VALUES ($1, $2, $3, $4, $5, 'dialing', $6, $7, $8, $9, $10, $11) RETURNING *`,
          [req.attemptId, req.campaignId, req.contactId, attemptNo, number, req.nodeId, req.leaseUntil, req.trunk, req.callerId ?? null, req.now, req.pbxCallId ?? null],
        );
        await q.query(`UPDATE contacts SET state = 'dialing', attempts = attempts + 1 WHERE id = $1`, [req.contactId]);
        return { ok: true, attempt: attemptFromRow(inserted.rows[0] as Row) };
      });
    } catch (err) {
      if (isUniqueViolation(err)) return { ok: false, reason: 'taken', detail: (err as Error).message };
      if (err instanceof StoreError) throw err;
      throw new StoreError(`claim of contact ${req.contactId}: ${(err as Error).message}`, 'claimAttempt', { cause: err });
    }
  }

  async getAttempt(id: string): Promise<AttemptRecord | undefined> {
    const [row] = await this.rows('SELECT * FROM attempts WHERE id = $1', [id]);
    return row ? attemptFromRow(row) : undefined;
  }

  async listAttempts(campaignId: string, opts: { limit?: number; afterId?: string } = {}): Promise<AttemptRecord[]> {
    const limit = clampLimit(opts.limit, 100, 10_000, 'listAttempts');
    return (await this.rows('SELECT * FROM attempts WHERE campaign_id = $1 AND id > $2 ORDER BY id LIMIT $3', [campaignId, opts.afterId ?? '', limit])).map(attemptFromRow);
  }

  async markAttempt(id: string, patch: { callId?: string; pbxCallId?: string; state?: 'live'; answeredAt?: string; progress?: string }): Promise<void> {
    const sets: string[] = [];
    const values: string[] = [];
    const add = (col: string, v: string | undefined): void => {
      if (v === undefined) return;
      values.push(v);
      sets.push(`${col} = $${values.length}`);
    };
    add('call_id', patch.callId);
    add('pbx_call_id', patch.pbxCallId);
    add('state', patch.state);
    add('answered_at', patch.answeredAt);
    add('progress', patch.progress);
    if (sets.length === 0) return;
    values.push(id);
    await this.db.pool.query(`UPDATE attempts SET ${sets.join(', ')} WHERE id = $${values.length} AND state IN ('dialing', 'live')`, values);
  }

  async finishAttempt(id: string, o: AttemptOutcome, next: ContactNext, webhook?: WebhookEnqueue, state: 'done' | 'unknown' = 'done'): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const row = (await q.query('SELECT contact_id FROM attempts WHERE id = $1', [id])).rows[0] as Row | undefined;
      if (!row) throw new StoreError(`no attempt ${id}`, 'finishAttempt');
      const r = await q.query(
        `UPDATE attempts SET state = $1, disposition = $2, cause = $3, progress = coalesce($4, progress), answered_at = coalesce($5, answered_at),
           ended_at = $6, duration_sec = $7, slots = $8::jsonb, call_id = coalesce($9, call_id), pbx_call_id = coalesce($10, pbx_call_id), note = $11
         WHERE id = $12 AND state IN ('dialing', 'live')`,
        [
          state, o.disposition, o.cause ?? null, o.progress ?? null, o.answeredAt ?? null, o.endedAt, o.durationSec ?? null,
          o.slots ? JSON.stringify(o.slots) : null, o.callId ?? null, o.pbxCallId ?? null, o.note ?? null, id,
        ],
      );
      if (r.rowCount === 0) return false;
      await q.query('UPDATE contacts SET state = $1, next_at = $2, last_disposition = $3 WHERE id = $4', [next.state, next.nextAt ?? null, o.disposition, row.contact_id]);
      if (webhook) await insertWebhook(q, webhook, o.endedAt);
      return true;
    });
  }

  async heartbeat(nodeId: string, leaseUntil: string): Promise<number> {
    const r = await this.db.pool.query(`UPDATE attempts SET lease_until = $1 WHERE node_id = $2 AND state IN ('dialing', 'live')`, [leaseUntil, nodeId]);
    return r.rowCount ?? 0;
  }

  async attemptsToReconcile(nodeId: string, now: string, opts: { expiredOnly?: boolean } = {}): Promise<AttemptRecord[]> {
    const rows = opts.expiredOnly
      ? await this.rows(`SELECT * FROM attempts WHERE state IN ('dialing', 'live') AND lease_until < $1 ORDER BY created_at`, [now])
      : await this.rows(`SELECT * FROM attempts WHERE state IN ('dialing', 'live') AND (node_id = $1 OR lease_until < $2) ORDER BY created_at`, [nodeId, now]);
    return rows.map(attemptFromRow);
  }

  async handBack(id: string, nodeId: string): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const gone = await q.query(`DELETE FROM attempts WHERE id = $1 AND node_id = $2 AND state = 'dialing' AND call_id IS NULL RETURNING contact_id`, [id, nodeId]);
      const row = gone.rows[0] as Row | undefined;
      if (!row) return false;
      await q.query(`UPDATE contacts SET state = 'pending', attempts = GREATEST(0, attempts - 1) WHERE id = $1 AND state = 'dialing'`, [row.contact_id]);
      return true;
    });
  }

  async takeOver(id: string, nodeId: string, now: string, leaseUntil: string): Promise<boolean> {
    const r = await this.db.pool.query(
      `UPDATE attempts SET node_id = $1, lease_until = $2 WHERE id = $3 AND state IN ('dialing', 'live') AND (node_id = $1 OR lease_until < $4)`,
      [nodeId, leaseUntil, id, now],
    );
    return r.rowCount === 1;
  }

  async takeTrunkToken(trunk: string, pace: TrunkPace): Promise<boolean> {
    return takeToken(this.db.pool, trunk, pace);
  }

  async liveCount(campaignId: string): Promise<number> {
    return count((await this.rows(`SELECT count(*) AS n FROM attempts WHERE campaign_id = $1 AND state IN ('dialing', 'live')`, [campaignId])) as { n: string }[]);
  }

  async stats(campaignId: string, now: string): Promise<CampaignStats> {
    const campaign = await this.getCampaign(campaignId);
    const [left] = await this.rows(
      `SELECT coalesce(sum(CASE WHEN c.state = 'pending' THEN GREATEST(1, $1::int - c.attempts) ELSE GREATEST(0, $1::int - c.attempts) END), 0) AS n
       FROM contacts c WHERE c.campaign_id = $2 AND c.state IN ('pending', 'dialing')
       AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.number = c.number AND d.scope IN ('global', c.campaign_id) AND (d.expires_at IS NULL OR d.expires_at > $3))`,
      [campaign?.retry.maxAttempts ?? 0, campaignId, now],
    );
    const counts: Record<string, number> = {};
    for (const r of await this.rows('SELECT state, count(*) AS n FROM contacts WHERE campaign_id = $1 GROUP BY state', [campaignId])) counts[r.state as string] = Number(r.n);
    const byDisposition: Record<string, number> = {};
    let attempts = 0;
    let connected = 0;
    let connectedEnded = 0;
    let talk = 0;
    for (const r of await this.rows(
      `SELECT disposition, count(*) AS n, count(answered_at) AS connected, coalesce(sum(CASE WHEN answered_at IS NOT NULL THEN duration_sec ELSE 0 END), 0) AS talk
       FROM attempts WHERE campaign_id = $1 GROUP BY disposition`,
      [campaignId],
    )) {
      attempts += Number(r.n);
      connected += Number(r.connected);
      if (r.disposition !== null) connectedEnded += Number(r.connected);
      talk += Number(r.talk);
      if (r.disposition !== null) byDisposition[r.disposition as string] = Number(r.n);
    }
    const ab = await this.transferCounts(campaignId);
    const [next] = await this.rows(`SELECT min(next_at) AS t FROM contacts WHERE campaign_id = $1 AND state = 'pending'`, [campaignId]);
    const contacts = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      contacts,
      pending: counts.pending ?? 0,
      dialing: counts.dialing ?? 0,
      done: counts.done ?? 0,
      blocked: counts.blocked ?? 0,
      unknown: counts.unknown ?? 0,
      attempts,
      connected,
      connectedEnded,
      byDisposition,
      avgHandleSec: connected > 0 ? talk / connected : 0,
      abandoned: ab.abandoned,
      transferred: ab.transferred,
      attemptsLeft: Number(left?.n ?? 0),
      nextAt: (next?.t as string | null) ?? undefined,
    };
  }

  async transferCounts(campaignId: string, since = ''): Promise<TransferCounts> {
    const [r] = await this.rows(
      `SELECT min(created_at) AS first,
         count(*) FILTER (WHERE created_at >= $2 AND disposition IN (${sqlList(TRANSFER_DISPOSITIONS)})) AS transferred,
         count(*) FILTER (WHERE created_at >= $2 AND disposition IN (${sqlList(ABANDONED_DISPOSITIONS)})) AS abandoned
       FROM attempts WHERE campaign_id = $1`,
      [campaignId, since],
    );
    const first = (r?.first as string | null | undefined) ?? undefined;
    return { ...(first !== undefined ? { firstAttemptAt: first } : {}), transferred: Number(r?.transferred ?? 0), abandoned: Number(r?.abandoned ?? 0) };
  }

  async countAttempts(number: string, since: string): Promise<number> {
    return count((await this.rows('SELECT count(*) AS n FROM attempts WHERE number = $1 AND created_at >= $2', [number, since])) as { n: string }[]);
  }

  async addDnc(entries: DncEntry[]): Promise<number> {
    return this.db.transaction(async (q) => {
      for (const e of entries) {
        await q.query(
          `INSERT INTO dnc (number, scope, reason, source, call_id, words, added_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (number, scope) DO UPDATE SET reason = excluded.reason, source = excluded.source, call_id = excluded.call_id,
           words = excluded.words, added_at = excluded.added_at, expires_at = excluded.expires_at`,
          [e.number, e.scope, e.reason, e.source, e.callId ?? null, e.words ?? null, e.addedAt, e.expiresAt ?? null],
        );
      }
      return entries.length;
    });
  }

  async removeDnc(number: string, scope: string): Promise<boolean> {
    return ((await this.db.pool.query('DELETE FROM dnc WHERE number = $1 AND scope = $2', [number, scope])).rowCount ?? 0) > 0;
  }

  async findDnc(number: string, campaignId: string | undefined, now: string): Promise<DncEntry | undefined> {
    const [row] = await this.rows(
      `SELECT * FROM dnc WHERE number = $1 AND scope IN ('global', $2) AND (expires_at IS NULL OR expires_at > $3) ORDER BY scope = 'global' DESC LIMIT 1`,
      [number, campaignId ?? 'global', now],
    );
    return row ? dncFromRow(row) : undefined;
  }

  async listDnc(opts: { scope?: string; limit?: number; afterNumber?: string } = {}): Promise<DncEntry[]> {
    const limit = clampLimit(opts.limit, 100, 10_000, 'listDnc');
    const rows = opts.scope
      ? await this.rows('SELECT * FROM dnc WHERE scope = $1 AND number > $2 ORDER BY number LIMIT $3', [opts.scope, opts.afterNumber ?? '', limit])
      : await this.rows('SELECT * FROM dnc WHERE number > $1 ORDER BY number, scope LIMIT $2', [opts.afterNumber ?? '', limit]);
    return rows.map(dncFromRow);
  }

  async saveImportReport(report: ImportReport, rejects: ImportReject[]): Promise<void> {
    try {
      await this.db.transaction(async (q) => {
        await q.query('INSERT INTO import_reports (id, campaign_id, file, created_at, rows, accepted, rejected) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          report.id, report.campaignId, report.file, report.createdAt, report.rows, report.accepted, report.rejected,
        ]);
        for (const r of rejects) await q.query('INSERT INTO import_rejects (report_id, row_no, col, reason, value) VALUES ($1, $2, $3, $4, $5)', [report.id, r.row, r.column, r.reason, r.value ?? null]);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError(`import report ${report.id} already exists`, 'saveImportReport', { cause: err });
      if ((err as { code?: string }).code === '23503') throw new StoreError(`import report ${report.id}: no such campaign`, 'saveImportReport', { cause: err });
      throw err;
    }
  }

  async getImportReport(id: string): Promise<{ report: ImportReport; rejects: ImportReject[] } | undefined> {
    const [row] = await this.rows('SELECT * FROM import_reports WHERE id = $1', [id]);
    if (!row) return undefined;
    const report: ImportReport = {
      id: row.id as string,
      campaignId: row.campaign_id as string,
      file: row.file as string,
      createdAt: row.created_at as string,
      rows: Number(row.rows),
      accepted: Number(row.accepted),
      rejected: Number(row.rejected),
    };
    const rejects = (await this.rows('SELECT * FROM import_rejects WHERE report_id = $1 ORDER BY row_no, seq', [id])).map((r) => {
      const out: ImportReject = { row: Number(r.row_no), column: r.col as string, reason: r.reason as string };
      if (r.value !== null) out.value = r.value as string;
      return out;
    });
    return { report, rejects };
  }

  async enqueueWebhook(w: WebhookEnqueue, now: string): Promise<void> {
    await insertWebhook(this.db.pool, w, now);
  }

  async dueWebhooks(now: string, limit: number): Promise<WebhookDelivery[]> {
    return (await this.rows(`SELECT * FROM webhooks WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $2`, [now, limit])).map(webhookFromRow);
  }

  async claimWebhooks(now: string, leaseUntil: string, limit: number): Promise<WebhookDelivery[]> {
    // SKIP LOCKED: two nodes claiming at once each get different rows instead of waiting for each other.
    const r = await this.db.pool.query(
      `UPDATE webhooks SET next_at = $2 WHERE id IN (
         SELECT id FROM webhooks WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
       ) RETURNING *`,
      [now, leaseUntil, limit],
    );
    return (r.rows as Record<string, unknown>[]).map(webhookFromRow).sort((a, b) => a.id - b.id);
  }

  async getWebhook(id: number): Promise<WebhookDelivery | undefined> {
    const [row] = await this.rows('SELECT * FROM webhooks WHERE id = $1', [id]);
    return row ? webhookFromRow(row) : undefined;
  }

  async countWebhooks(): Promise<Record<WebhookState, number>> {
    const out: Record<WebhookState, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const r of await this.rows('SELECT state, count(*) AS n FROM webhooks GROUP BY state', [])) out[r.state as WebhookState] = Number(r.n);
    return out;
  }

  async webhookDelivered(id: number, now: string): Promise<void> {
    await this.db.pool.query(`UPDATE webhooks SET state = 'delivered', tries = tries + 1, last_error = NULL, next_at = $1 WHERE id = $2`, [now, id]);
  }

  async webhookFailed(id: number, error: string, nextAt: string | undefined): Promise<void> {
    if (nextAt) await this.db.pool.query('UPDATE webhooks SET tries = tries + 1, last_error = $1, next_at = $2 WHERE id = $3', [error.slice(0, 500), nextAt, id]);
    else await this.db.pool.query(`UPDATE webhooks SET state = 'dead', tries = tries + 1, last_error = $1 WHERE id = $2`, [error.slice(0, 500), id]);
  }

  async listWebhooks(opts: { state?: WebhookState; limit?: number; campaignId?: string }): Promise<WebhookDelivery[]> {
    const limit = clampLimit(opts.limit, 100, 1000, 'listWebhooks');
    const rows = await this.rows(
      'SELECT * FROM webhooks WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR campaign_id = $2) ORDER BY id DESC LIMIT $3',
      [opts.state ?? null, opts.campaignId ?? null, limit],
    );
    return rows.map(webhookFromRow);
  }

  async replayWebhook(id: number, now: string): Promise<boolean> {
    const r = await this.db.pool.query(`UPDATE webhooks SET state = 'pending', tries = 0, next_at = $1, last_error = NULL WHERE id = $2 AND state = 'dead'`, [now, id]);
    return r.rowCount === 1;
  }
}
