import type Database from 'better-sqlite3';
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
import { runWrite, type SqliteDatabase } from './sqlite-database.ts';
import { StoreError } from './store-error.ts';

/**
 * Campaign data in SQLite. better-sqlite3 runs each transaction synchronously, so a claim (DNC + caps + attempt
 * row) cannot interleave with another; PostgreSQL gets the same semantics from `SELECT ... FOR UPDATE SKIP LOCKED`.
 */
export class SqliteCampaignStore implements CampaignStore {
  private readonly db: SqliteDatabase;
  private readonly s: Record<string, Database.Statement>;

  constructor(db: SqliteDatabase) {
    this.db = db;
    const p = (sql: string): Database.Statement => db.prepare(sql);
    this.s = {
      insertCampaign: p('INSERT INTO campaigns (id, name, state, priority, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      getCampaign: p('SELECT * FROM campaigns WHERE id = ?'),
      listCampaigns: p('SELECT * FROM campaigns ORDER BY priority DESC, created_at'),
      listCampaignsByState: p('SELECT * FROM campaigns WHERE state = ? ORDER BY priority DESC, created_at'),
      updateCampaign: p('UPDATE campaigns SET name = ?, priority = ?, spec = ?, updated_at = ? WHERE id = ?'),
      setState: p('UPDATE campaigns SET state = ?, updated_at = ? WHERE id = ? AND state = ?'),
      insertContact: p(`INSERT OR IGNORE INTO contacts (campaign_id, number, role, time_zone, consent, variables, row_no, state, next_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)`),
      getContact: p('SELECT * FROM contacts WHERE id = ?'),
      listContacts: p('SELECT * FROM contacts WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?'),
      listContactsByState: p('SELECT * FROM contacts WHERE campaign_id = ? AND id > ? AND state = ? ORDER BY id LIMIT ?'),
      dueContacts: p(`SELECT * FROM contacts WHERE campaign_id = ? AND state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`),
      deferContact: p(`UPDATE contacts SET state = ?, next_at = ?, last_disposition = coalesce(?, last_disposition) WHERE id = ? AND state = 'pending'`),
      openContacts: p(`SELECT 1 FROM contacts WHERE campaign_id = ? AND state IN ('pending', 'dialing') LIMIT 1`),
      dncFind: p(`SELECT * FROM dnc WHERE number = ? AND scope IN ('global', ?) AND (expires_at IS NULL OR expires_at > ?) ORDER BY scope = 'global' DESC LIMIT 1`),
      countSince: p('SELECT count(*) AS n FROM attempts WHERE number = ? AND created_at >= ?'),
      connectedSince: p(`SELECT count(*) AS n FROM attempts WHERE number = ? AND created_at >= ? AND answered_at IS NOT NULL`),
      insertAttempt: p(`INSERT INTO attempts (id, campaign_id, contact_id, attempt_no, number, state, node_id, lease_until, trunk, caller_id, created_at, pbx_call_id)
        VALUES (?, ?, ?, ?, ?, 'dialing', ?, ?, ?, ?, ?, ?)`),
      contactDialing: p(`UPDATE contacts SET state = 'dialing', attempts = attempts + 1 WHERE id = ? AND state = 'pending'`),
      getAttempt: p('SELECT * FROM attempts WHERE id = ?'),
      listAttempts: p('SELECT * FROM attempts WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?'),
      finishAttempt: p(`UPDATE attempts SET state = ?, disposition = ?, cause = ?, progress = coalesce(?, progress), answered_at = coalesce(?, answered_at),
        ended_at = ?, duration_sec = ?, slots = ?, call_id = coalesce(?, call_id), pbx_call_id = coalesce(?, pbx_call_id), note = ?
        WHERE id = ? AND state IN ('dialing', 'live')`),
      contactAfter: p(`UPDATE contacts SET state = ?, next_at = ?, last_disposition = ? WHERE id = ?`),
      heartbeat: p(`UPDATE attempts SET lease_until = ? WHERE node_id = ? AND state IN ('dialing', 'live')`),
      toReconcile: p(`SELECT * FROM attempts WHERE state IN ('dialing', 'live') AND (node_id = ? OR lease_until < ?) ORDER BY created_at`),
      expired: p(`SELECT * FROM attempts WHERE state IN ('dialing', 'live') AND lease_until < ? ORDER BY created_at`),
      handBackAttempt: p(`DELETE FROM attempts WHERE id = ? AND node_id = ? AND state = 'dialing' AND call_id IS NULL RETURNING contact_id`),
      handBackContact: p(`UPDATE contacts SET state = 'pending', attempts = max(0, attempts - 1) WHERE id = ? AND state = 'dialing'`),
      takeOver: p(`UPDATE attempts SET node_id = ?, lease_until = ? WHERE id = ? AND state IN ('dialing', 'live') AND (node_id = ? OR lease_until < ?)`),
      liveCount: p(`SELECT count(*) AS n FROM attempts WHERE campaign_id = ? AND state IN ('dialing', 'live')`),
      contactCounts: p('SELECT state, count(*) AS n FROM contacts WHERE campaign_id = ? GROUP BY state'),
      nextAt: p(`SELECT min(next_at) AS t FROM contacts WHERE campaign_id = ? AND state = 'pending'`),
      attemptsLeft: p(`SELECT coalesce(sum(CASE WHEN c.state = 'pending' THEN max(1, @max - c.attempts) ELSE max(0, @max - c.attempts) END), 0) AS n
        FROM contacts c WHERE c.campaign_id = @campaign AND c.state IN ('pending', 'dialing')
        AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.number = c.number AND d.scope IN ('global', c.campaign_id) AND (d.expires_at IS NULL OR d.expires_at > @now))`),
      dispositions: p(`SELECT disposition, count(*) AS n, sum(answered_at IS NOT NULL) AS connected, sum(CASE WHEN answered_at IS NOT NULL THEN duration_sec ELSE 0 END) AS talk
        FROM attempts WHERE campaign_id = ? GROUP BY disposition`),
      transfers: p(`SELECT min(created_at) AS first, coalesce(sum(created_at >= @since AND disposition IN (${sqlList(TRANSFER_DISPOSITIONS)})), 0) AS transferred,
        coalesce(sum(created_at >= @since AND disposition IN (${sqlList(ABANDONED_DISPOSITIONS)})), 0) AS abandoned FROM attempts WHERE campaign_id = @campaign`),
      insertDnc: p(`INSERT INTO dnc (number, scope, reason, source, call_id, words, added_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (number, scope) DO UPDATE SET reason = excluded.reason, source = excluded.source, call_id = excluded.call_id,
        words = excluded.words, added_at = excluded.added_at, expires_at = excluded.expires_at`),
      removeDnc: p('DELETE FROM dnc WHERE number = ? AND scope = ?'),
      listDnc: p('SELECT * FROM dnc WHERE number > ? ORDER BY number, scope LIMIT ?'),
      listDncScope: p('SELECT * FROM dnc WHERE scope = ? AND number > ? ORDER BY number LIMIT ?'),
      insertReport: p('INSERT INTO import_reports (id, campaign_id, file, created_at, rows, accepted, rejected) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertReject: p('INSERT INTO import_rejects (report_id, row_no, col, reason, value) VALUES (?, ?, ?, ?, ?)'),
      getReport: p('SELECT * FROM import_reports WHERE id = ?'),
      listRejects: p('SELECT * FROM import_rejects WHERE report_id = ? ORDER BY row_no, rowid'),
      insertWebhook: p(`INSERT OR IGNORE INTO webhooks (campaign_id, event, idempotency_key, payload, state, next_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)`),
      dueWebhooks: p(`SELECT * FROM webhooks WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`),
      webhookDelivered: p(`UPDATE webhooks SET state = 'delivered', tries = tries + 1, last_error = NULL, next_at = ? WHERE id = ?`),
      webhookRetry: p(`UPDATE webhooks SET tries = tries + 1, last_error = ?, next_at = ? WHERE id = ?`),
      webhookDead: p(`UPDATE webhooks SET state = 'dead', tries = tries + 1, last_error = ? WHERE id = ?`),
      leaseWebhook: p(`UPDATE webhooks SET next_at = ? WHERE id = ? AND state = 'pending'`),
      getWebhook: p('SELECT * FROM webhooks WHERE id = ?'),
      listWebhooks: p('SELECT * FROM webhooks WHERE (? IS NULL OR state = ?) AND (? IS NULL OR campaign_id = ?) ORDER BY id DESC LIMIT ?'),
      countWebhooks: p('SELECT state, count(*) AS n FROM webhooks GROUP BY state'),
      replayWebhook: p(`UPDATE webhooks SET state = 'pending', tries = 0, next_at = ?, last_error = NULL WHERE id = ? AND state = 'dead'`),
    };
  }

  async createCampaign(c: CampaignRecord): Promise<void> {
    runWrite('createCampaign', () => this.s.insertCampaign.run(c.id, c.name, c.state, c.priority, specOf(c), c.createdAt, c.updatedAt), `campaign ${c.id}`, 'campaign');
  }

  async getCampaign(id: string): Promise<CampaignRecord | undefined> {
    const row = this.s.getCampaign.get(id) as Row | undefined;
    return row ? campaignFromRow(row) : undefined;
  }

  async listCampaigns(opts: { state?: CampaignState } = {}): Promise<CampaignRecord[]> {
    const rows = (opts.state ? this.s.listCampaignsByState.all(opts.state) : this.s.listCampaigns.all()) as Row[];
    return rows.map(campaignFromRow);
  }

  async updateCampaign(id: string, patch: Partial<Omit<CampaignRecord, 'id' | 'createdAt' | 'state'>>, now: string): Promise<void> {
    const tx = this.db.transaction(() => {
      const row = this.s.getCampaign.get(id) as Row | undefined;
      if (!row) throw new StoreError(`no campaign ${id}`, 'updateCampaign');
      const merged = { ...campaignFromRow(row), ...patch, id };
      this.s.updateCampaign.run(merged.name, merged.priority, specOf(merged), now, id);
    });
    tx();
  }

  async setState(id: string, from: CampaignState[], to: CampaignState, now: string, webhook?: WebhookEnqueue): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      const row = this.s.getCampaign.get(id) as Row | undefined;
      if (!row || !from.includes(row.state as CampaignState)) return false;
      this.s.setState.run(to, now, id, row.state);
      if (webhook) this.s.insertWebhook.run(webhook.campaignId, webhook.event, webhook.idempotencyKey, JSON.stringify(webhook.payload), now, now);
      return true;
    });
    return tx();
  }

  async addContacts(campaignId: string, contacts: ContactInput[], now: string): Promise<{ inserted: number; duplicates: number[] }> {
    const tx = this.db.transaction(() => {
      if (!this.s.getCampaign.get(campaignId)) throw new StoreError(`no campaign ${campaignId}`, 'addContacts');
      let inserted = 0;
      const duplicates: number[] = [];
      contacts.forEach((c, i) => {
        const r = this.s.insertContact.run(
          campaignId, c.number, c.role ?? null, c.timeZone ?? null, c.consent ? 1 : 0, JSON.stringify(c.variables), c.rowNo ?? null, c.notBefore ?? now,
        );
        if (r.changes === 0) duplicates.push(i);
        else inserted++;
      });
      return { inserted, duplicates };
    });
    return tx();
  }

  async getContact(id: number): Promise<ContactRecord | undefined> {
    const row = this.s.getContact.get(id) as Row | undefined;
    return row ? contactFromRow(row) : undefined;
  }

  async listContacts(campaignId: string, opts: { limit?: number; afterId?: number; state?: ContactState } = {}): Promise<ContactRecord[]> {
    const limit = clampLimit(opts.limit, 100, 10_000, 'listContacts');
    const rows = (opts.state
      ? this.s.listContactsByState.all(campaignId, opts.afterId ?? 0, opts.state, limit)
      : this.s.listContacts.all(campaignId, opts.afterId ?? 0, limit)) as Row[];
    return rows.map(contactFromRow);
  }

  async dueContacts(campaignId: string, now: string, limit: number): Promise<ContactRecord[]> {
    return (this.s.dueContacts.all(campaignId, now, limit) as Row[]).map(contactFromRow);
  }

  async deferContact(id: number, next: ContactNext, reason?: string): Promise<void> {
    this.s.deferContact.run(next.state, next.nextAt ?? null, reason ?? null, id);
  }

  async finishIfDrained(campaignId: string, now: string, webhook?: WebhookEnqueue): Promise<boolean> {
    // One transaction, and SQLite runs one writer at a time: an import is wholly before or after it.
    const tx = this.db.transaction((): boolean => {
      const row = this.s.getCampaign.get(campaignId) as Row | undefined;
      if (!row || row.state !== 'running') return false;
      if (this.s.openContacts.get(campaignId) !== undefined) return false;
      this.s.setState.run('finished', now, campaignId, 'running');
      if (webhook) this.s.insertWebhook.run(webhook.campaignId, webhook.event, webhook.idempotencyKey, JSON.stringify(webhook.payload), now, now);
      return true;
    });
    return tx();
  }

  async claimAttempt(req: ClaimRequest): Promise<ClaimResult> {
    const tx = this.db.transaction((): ClaimResult => {
      const campaign = this.s.getCampaign.get(req.campaignId) as Row | undefined;
      if (!campaign || campaign.state !== 'running') return { ok: false, reason: 'not-running' };
      // In the claiming transaction (SQLite serialises writers), like on PostgreSQL: the cap holds for every process.
      const inFlight = (this.s.liveCount.get(req.campaignId) as { n: number }).n;
      const { maxConcurrent } = campaignFromRow(campaign);
      if (inFlight >= maxConcurrent) return { ok: false, reason: 'full', detail: `${inFlight} of ${maxConcurrent} in flight` };
      const contact = this.s.getContact.get(req.contactId) as Row | undefined;
      if (!contact || contact.campaign_id !== req.campaignId) return { ok: false, reason: 'no-contact' };
      if (contact.state !== 'pending' || (contact.next_at as string) > req.now) return { ok: false, reason: 'taken' };
      if (req.requireConsent && !contact.consent) {
        this.s.contactAfter.run('blocked', null, NO_CONSENT, req.contactId);
        return { ok: false, reason: 'no-consent' };
      }
      const number = contact.number as string;
      const dnc = this.s.dncFind.get(number, req.campaignId, req.now) as Row | undefined;
      if (dnc) {
        this.s.contactAfter.run('blocked', null, 'dnc', req.contactId);
        return { ok: false, reason: 'dnc', detail: `${dnc.scope}: ${dnc.reason}` };
      }
      const caps = req.caps;
      const over = (count: number, max: number | undefined): boolean => max !== undefined && count >= max;
      let capHit: string | undefined;
      if (over((this.s.countSince.get(number, caps.dayStart) as { n: number }).n, caps.maxAttemptsPerDay)) capHit = 'attempts per day';
      else if (over((this.s.countSince.get(number, caps.weekStart) as { n: number }).n, caps.maxAttemptsPerWeek)) capHit = 'attempts per week';
      else if (over((this.s.connectedSince.get(number, caps.dayStart) as { n: number }).n, caps.maxConnectedPerDay)) capHit = 'connected calls per day';
      if (capHit) {
        this.s.deferContact.run('pending', caps.nextDay, null, req.contactId);
        return { ok: false, reason: 'cap', detail: capHit };
      }
      if (req.pacing && !this.takeToken(req.trunk, req.pacing)) return { ok: false, reason: 'paced' };
      const attemptNo = (contact.attempts as number) + 1;
      this.s.insertAttempt.run(req.attemptId, req.campaignId, req.contactId, attemptNo, number, req.nodeId, req.leaseUntil, req.trunk, req.callerId ?? null, req.now, req.pbxCallId ?? null);
      this.s.contactDialing.run(req.contactId);
      return { ok: true, attempt: attemptFromRow(this.s.getAttempt.get(req.attemptId) as Row) };
    });
    try {
      return tx();
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (code.startsWith('SQLITE_CONSTRAINT')) return { ok: false, reason: 'taken', detail: (err as Error).message };
      throw new StoreError(`claim of contact ${req.contactId}: ${(err as Error).message}`, 'claimAttempt', { cause: err });
    }
  }

  async getAttempt(id: string): Promise<AttemptRecord | undefined> {
    const row = this.s.getAttempt.get(id) as Row | undefined;
    return row ? attemptFromRow(row) : undefined;
  }

  async listAttempts(campaignId: string, opts: { limit?: number; afterId?: string } = {}): Promise<AttemptRecord[]> {
    const limit = clampLimit(opts.limit, 100, 10_000, 'listAttempts');
    return (this.s.listAttempts.all(campaignId, opts.afterId ?? '', limit) as Row[]).map(attemptFromRow);
  }

  async markAttempt(id: string, patch: { callId?: string; pbxCallId?: string; state?: 'live'; answeredAt?: string; progress?: string }): Promise<void> {
    const sets: string[] = [];
    const values: (string | null)[] = [];
    const add = (col: string, v: string | undefined): void => {
      if (v === undefined) return;
      sets.push(`${col} = ?`);
      values.push(v);
    };
    add('call_id', patch.callId);
    add('pbx_call_id', patch.pbxCallId);
    add('state', patch.state);
    add('answered_at', patch.answeredAt);
    add('progress', patch.progress);
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE attempts SET ${sets.join(', ')} WHERE id = ? AND state IN ('dialing', 'live')`).run(...values, id);
  }

  async finishAttempt(id: string, o: AttemptOutcome, next: ContactNext, webhook?: WebhookEnqueue, state: 'done' | 'unknown' = 'done'): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      const row = this.s.getAttempt.get(id) as Row | undefined;
      if (!row) throw new StoreError(`no attempt ${id}`, 'finishAttempt');
      const r = this.s.finishAttempt.run(
        state, o.disposition, o.cause ?? null, o.progress ?? null, o.answeredAt ?? null, o.endedAt, o.durationSec ?? null,
        o.slots ? JSON.stringify(o.slots) : null, o.callId ?? null, o.pbxCallId ?? null, o.note ?? null, id,
      );
      if (r.changes === 0) return false;
      this.s.contactAfter.run(next.state, next.nextAt ?? null, o.disposition, row.contact_id);
      if (webhook) this.s.insertWebhook.run(webhook.campaignId, webhook.event, webhook.idempotencyKey, JSON.stringify(webhook.payload), o.endedAt, o.endedAt);
      return true;
    });
    return tx();
  }

  async heartbeat(nodeId: string, leaseUntil: string): Promise<number> {
    return this.s.heartbeat.run(leaseUntil, nodeId).changes;
  }

  async attemptsToReconcile(nodeId: string, now: string, opts: { expiredOnly?: boolean } = {}): Promise<AttemptRecord[]> {
    const rows = opts.expiredOnly ? this.s.expired.all(now) : this.s.toReconcile.all(nodeId, now);
    return (rows as Row[]).map(attemptFromRow);
  }

  async handBack(id: string, nodeId: string): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      const row = this.s.handBackAttempt.get(id, nodeId) as { contact_id: number } | undefined;
      if (!row) return false;
      this.s.handBackContact.run(row.contact_id);
      return true;
    });
    return tx();
  }

  async takeOver(id: string, nodeId: string, now: string, leaseUntil: string): Promise<boolean> {
    return this.s.takeOver.run(nodeId, leaseUntil, id, nodeId, now).changes === 1;
  }

  async takeTrunkToken(trunk: string, pace: TrunkPace): Promise<boolean> {
    return this.takeToken(trunk, pace);
  }

  /** One call from a trunk's CPS budget; synchronous, so claims can take it in their transaction. */
  private takeToken(trunk: string, { ratePerSec, burst, nowMs }: TrunkPace): boolean {
    const row = this.db
      .prepare(
        `INSERT INTO trunk_pacing (trunk, tokens, updated_ms) VALUES (@trunk, 0, @now)
         ON CONFLICT (trunk) DO UPDATE SET
           tokens = min(@burst, tokens + max(0, @now - updated_ms) / 1000.0 * @rate) - 1,
           updated_ms = max(updated_ms, @now)
         WHERE min(@burst, tokens + max(0, @now - updated_ms) / 1000.0 * @rate) >= 1
         RETURNING tokens`,
      )
      .get({ trunk, rate: ratePerSec, now: nowMs, burst });
    return row !== undefined;
  }

  async liveCount(campaignId: string): Promise<number> {
    return (this.s.liveCount.get(campaignId) as { n: number }).n;
  }

  async stats(campaignId: string, now: string): Promise<CampaignStats> {
    const campaign = this.s.getCampaign.get(campaignId) as Row | undefined;
    const maxAttempts = campaign ? campaignFromRow(campaign).retry.maxAttempts : 0;
    const left = this.s.attemptsLeft.get({ max: maxAttempts, campaign: campaignId, now }) as { n: number };
    const counts: Record<string, number> = {};
    for (const r of this.s.contactCounts.all(campaignId) as { state: string; n: number }[]) counts[r.state] = r.n;
    const byDisposition: Record<string, number> = {};
    let attempts = 0;
    let connected = 0;
    let connectedEnded = 0;
    let talk = 0;
    for (const r of this.s.dispositions.all(campaignId) as { disposition: string | null; n: number; connected: number; talk: number }[]) {
      attempts += r.n;
      connected += r.connected ?? 0;
      if (r.disposition !== null) connectedEnded += r.connected ?? 0;
      talk += r.talk ?? 0;
      if (r.disposition !== null) byDisposition[r.disposition] = r.n;
    }
    const ab = await this.transferCounts(campaignId);
    const nextAt = (this.s.nextAt.get(campaignId) as { t: string | null }).t ?? undefined;
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
      attemptsLeft: left.n,
      nextAt,
    };
  }

  async transferCounts(campaignId: string, since = ''): Promise<TransferCounts> {
    const r = this.s.transfers.get({ campaign: campaignId, since }) as { first: string | null; transferred: number; abandoned: number };
    return { ...(r.first !== null ? { firstAttemptAt: r.first } : {}), transferred: r.transferred, abandoned: r.abandoned };
  }

  async countAttempts(number: string, since: string): Promise<number> {
    return (this.s.countSince.get(number, since) as { n: number }).n;
  }

  async addDnc(entries: DncEntry[]): Promise<number> {
    const tx = this.db.transaction(() => {
      for (const e of entries) {
        this.s.insertDnc.run(e.number, e.scope, e.reason, e.source, e.callId ?? null, e.words ?? null, e.addedAt, e.expiresAt ?? null);
      }
      return entries.length;
    });
    return tx();
  }

  async removeDnc(number: string, scope: string): Promise<boolean> {
    return this.s.removeDnc.run(number, scope).changes > 0;
  }

  async findDnc(number: string, campaignId: string | undefined, now: string): Promise<DncEntry | undefined> {
    const row = this.s.dncFind.get(number, campaignId ?? 'global', now) as Row | undefined;
    return row ? dncFromRow(row) : undefined;
  }

  async listDnc(opts: { scope?: string; limit?: number; afterNumber?: string } = {}): Promise<DncEntry[]> {
    const limit = clampLimit(opts.limit, 100, 10_000, 'listDnc');
    const rows = (opts.scope ? this.s.listDncScope.all(opts.scope, opts.afterNumber ?? '', limit) : this.s.listDnc.all(opts.afterNumber ?? '', limit)) as Row[];
    return rows.map(dncFromRow);
  }

  async saveImportReport(report: ImportReport, rejects: ImportReject[]): Promise<void> {
    const tx = this.db.transaction(() => {
      this.s.insertReport.run(report.id, report.campaignId, report.file, report.createdAt, report.rows, report.accepted, report.rejected);
      for (const r of rejects) this.s.insertReject.run(report.id, r.row, r.column, r.reason, r.value ?? null);
    });
    runWrite('saveImportReport', () => tx(), `import report ${report.id}`, 'campaign');
  }

  async getImportReport(id: string): Promise<{ report: ImportReport; rejects: ImportReject[] } | undefined> {
    const row = this.s.getReport.get(id) as Row | undefined;
    if (!row) return undefined;
    const report: ImportReport = {
      id: row.id as string,
      campaignId: row.campaign_id as string,
      file: row.file as string,
      createdAt: row.created_at as string,
      rows: row.rows as number,
      accepted: row.accepted as number,
      rejected: row.rejected as number,
    };
    const rejects = (this.s.listRejects.all(id) as Row[]).map((r) => {
      const out: ImportReject = { row: r.row_no as number, column: r.col as string, reason: r.reason as string };
      if (r.value !== null) out.value = r.value as string;
      return out;
    });
    return { report, rejects };
  }

  async enqueueWebhook(w: WebhookEnqueue, now: string): Promise<void> {
    this.s.insertWebhook.run(w.campaignId, w.event, w.idempotencyKey, JSON.stringify(w.payload), now, now);
  }

  async dueWebhooks(now: string, limit: number): Promise<WebhookDelivery[]> {
    return (this.s.dueWebhooks.all(now, limit) as Row[]).map(webhookFromRow);
  }

  async claimWebhooks(now: string, leaseUntil: string, limit: number): Promise<WebhookDelivery[]> {
    // One writer per SQLite file: select and lease in one transaction is enough.
    const tx = this.db.transaction((): WebhookDelivery[] => {
      const rows = (this.s.dueWebhooks.all(now, limit) as Row[]).map(webhookFromRow);
      for (const w of rows) this.s.leaseWebhook.run(leaseUntil, w.id);
      return rows;
    });
    return tx();
  }

  async getWebhook(id: number): Promise<WebhookDelivery | undefined> {
    const row = this.s.getWebhook.get(id) as Row | undefined;
    return row ? webhookFromRow(row) : undefined;
  }

  async countWebhooks(): Promise<Record<WebhookState, number>> {
    const out: Record<WebhookState, number> = { pending: 0, delivered: 0, dead: 0 };
    for (const r of this.s.countWebhooks.all() as Row[]) out[r.state as WebhookState] = Number(r.n);
    return out;
  }

  async webhookDelivered(id: number, now: string): Promise<void> {
    this.s.webhookDelivered.run(now, id);
  }

  async webhookFailed(id: number, error: string, nextAt: string | undefined): Promise<void> {
    if (nextAt) this.s.webhookRetry.run(error.slice(0, 500), nextAt, id);
    else this.s.webhookDead.run(error.slice(0, 500), id);
  }

  async listWebhooks(opts: { state?: WebhookState; limit?: number; campaignId?: string }): Promise<WebhookDelivery[]> {
    const limit = clampLimit(opts.limit, 100, 1000, 'listWebhooks');
    const state = opts.state ?? null;
    const campaign = opts.campaignId ?? null;
    return (this.s.listWebhooks.all(state, state, campaign, campaign, limit) as Row[]).map(webhookFromRow);
  }

  async replayWebhook(id: number, now: string): Promise<boolean> {
    return this.s.replayWebhook.run(now, id).changes === 1;
  }
}
