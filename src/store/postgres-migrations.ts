/**
 * PostgreSQL schema versions, applied in order under an advisory lock (several nodes may start at once); the
 * `schema_migrations` table records what is applied. Same tables and columns as the SQLite schema, so records map
 * the same way (call-rows.ts). Never edit a shipped entry: add a new one.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE calls (
    seq BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    pbx TEXT NOT NULL,
    pbx_call_id TEXT,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    from_number TEXT,
    to_number TEXT,
    flow TEXT,
    lang TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    started_at TEXT NOT NULL,
    answered_at TEXT,
    ended_at TEXT,
    disposition TEXT,
    hangup_cause INTEGER,
    hangup_by TEXT,
    recording_dir TEXT,
    variables JSONB NOT NULL DEFAULT '{}',
    -- The node that runs the call: after a restart a node closes only its own interrupted calls.
    node_id TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX calls_started_at ON calls (started_at DESC, seq DESC);
  CREATE INDEX calls_status ON calls (status, started_at DESC, seq DESC);
  CREATE INDEX calls_node_active ON calls (node_id) WHERE status = 'active';

  CREATE TABLE turns (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    caller_text TEXT NOT NULL,
    input_kind TEXT NOT NULL CHECK (input_kind IN ('speech', 'dtmf', 'noInput')),
    bot_text TEXT,
    speech_start_ms DOUBLE PRECISION,
    speech_end_ms DOUBLE PRECISION,
    latency_ms DOUBLE PRECISION,
    barge_in BOOLEAN NOT NULL,
    heard_ms DOUBLE PRECISION,
    at TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
  );

  CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    data JSONB NOT NULL DEFAULT '{}'
  );
  CREATE INDEX events_call ON events (call_id, id);
  `,
  `
  -- Call-progress (before answer) and answering-machine (after answer) verdicts.
  ALTER TABLE calls ADD COLUMN progress JSONB;
  ALTER TABLE calls ADD COLUMN amd JSONB;
  `,
  `
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    live_calls INTEGER NOT NULL,
    draining BOOLEAN NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
  );
  `,
  // API tokens (hashed), console sessions and server secrets (issue 9).
  `
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    grants JSONB NOT NULL DEFAULT '[]',
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT,
    created_by TEXT
  );
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX sessions_token ON sessions (token_id);
  CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // The append-only, hash-chained audit log (issue 9).
  `
  CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    token_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
  END;
  $$;
  CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
  `,
  // What a client, Asterisk or FreeSWITCH called the call: stored, never used as our id or in a path.
  `
  ALTER TABLE calls ADD COLUMN external_id TEXT;
  `,
  // Outbound campaigns: the SQLite schema's tables and columns (campaign-rows.ts maps both), jsonb for JSON.
  `
  CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'running', 'paused', 'stopped', 'finished')),
    priority INTEGER NOT NULL DEFAULT 0,
    spec JSONB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE contacts (
    id SERIAL PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    role TEXT CHECK (role IN ('debtor', 'related', 'unrelated')),
    time_zone TEXT,
    consent BOOLEAN NOT NULL DEFAULT false,
    variables JSONB NOT NULL DEFAULT '{}',
    row_no INTEGER,
    state TEXT NOT NULL CHECK (state IN ('pending', 'dialing', 'done', 'blocked', 'unknown')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT,
    last_disposition TEXT,
    -- Position in the import batch, so a multi-row insert can say which rows were duplicates.
    import_seq INTEGER,
    UNIQUE (campaign_id, number)
  );
  CREATE INDEX contacts_due ON contacts (campaign_id, state, next_at, id);

  CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    attempt_no INTEGER NOT NULL,
    number TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('dialing', 'live', 'done', 'unknown')),
    node_id TEXT NOT NULL,
    lease_until TEXT NOT NULL,
    trunk TEXT NOT NULL,
    caller_id TEXT,
    call_id TEXT,
    pbx_call_id TEXT,
    disposition TEXT,
    cause INTEGER,
    progress TEXT,
    created_at TEXT NOT NULL,
    answered_at TEXT,
    ended_at TEXT,
    duration_sec DOUBLE PRECISION,
    slots JSONB,
    note TEXT,
    UNIQUE (campaign_id, contact_id, attempt_no)
  );
  CREATE INDEX attempts_inflight ON attempts (state, node_id, lease_until) WHERE state IN ('dialing', 'live');
  CREATE INDEX attempts_number ON attempts (number, created_at);
  CREATE INDEX attempts_campaign ON attempts (campaign_id, id);

  CREATE TABLE dnc (
    number TEXT NOT NULL,
    scope TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('import', 'api', 'call')),
    call_id TEXT,
    words TEXT,
    added_at TEXT NOT NULL,
    expires_at TEXT,
    PRIMARY KEY (number, scope)
  );

  CREATE TABLE import_reports (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rows INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL
  );
  CREATE TABLE import_rejects (
    seq BIGSERIAL PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES import_reports (id) ON DELETE CASCADE,
    row_no INTEGER NOT NULL,
    col TEXT NOT NULL,
    reason TEXT NOT NULL,
    value TEXT
  );
  CREATE INDEX import_rejects_report ON import_rejects (report_id, row_no);

  CREATE TABLE webhooks (
    id SERIAL PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    event TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload JSONB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    tries INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX webhooks_due ON webhooks (state, next_at);
  `,
  // Calls-per-second budget per trunk, shared by every node that dials through it.
  `
  CREATE TABLE trunk_pacing (
    trunk TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL
  );
  `,
  // QA (质检) hits: one row per rule hit, with the leg, the text and where it is in the recording.
  `
  CREATE TABLE qa_hits (
    id BIGSERIAL PRIMARY KEY,
    call_id TEXT NOT NULL,
    flow TEXT,
    rule_set TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    score INTEGER NOT NULL,
    leg TEXT,
    text TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    end_ms INTEGER,
    live INTEGER NOT NULL,
    detail JSONB NOT NULL DEFAULT '{}',
    at TEXT NOT NULL
  );
  CREATE INDEX qa_hits_call ON qa_hits (call_id, at_ms);
  CREATE INDEX qa_hits_at ON qa_hits (at);
  CREATE INDEX qa_hits_rule ON qa_hits (rule_id, at);
  `,
  // What the dialog understood of each turn: intent, its confidence, slots and the caller's emotion cue.
  `
  ALTER TABLE turns ADD COLUMN intent TEXT;
  ALTER TABLE turns ADD COLUMN confidence DOUBLE PRECISION;
  ALTER TABLE turns ADD COLUMN slots JSONB;
  ALTER TABLE turns ADD COLUMN emotion TEXT;
  ALTER TABLE turns ADD COLUMN emotion_score DOUBLE PRECISION;
  `,
  // A turn that ends an earlier one the caller went on with after a pause (its answer replaced that one's).
  `
  ALTER TABLE turns ADD COLUMN continues_seq INTEGER;
  `,
];
