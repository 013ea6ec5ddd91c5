/**
 * Schema versions, applied in order; the database's `user_version` is the number applied so far.
 * Never edit a shipped entry: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE calls (
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
    variables TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(variables))
  ) STRICT;
  CREATE INDEX calls_started_at ON calls (started_at DESC);
  CREATE INDEX calls_status ON calls (status, started_at DESC);

  CREATE TABLE turns (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    caller_text TEXT NOT NULL,
    input_kind TEXT NOT NULL CHECK (input_kind IN ('speech', 'dtmf', 'noInput')),
    bot_text TEXT,
    speech_start_ms REAL,
    speech_end_ms REAL,
    latency_ms REAL,
    barge_in INTEGER NOT NULL CHECK (barge_in IN (0, 1)),
    heard_ms REAL,
    at TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
  ) STRICT;

  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data))
  ) STRICT;
  CREATE INDEX events_call ON events (call_id, id);
  `,
  // Call-progress (before answer) and answering-machine (after answer) verdicts, as JSON objects.
  `
  ALTER TABLE calls ADD COLUMN progress TEXT CHECK (progress IS NULL OR json_valid(progress));
  ALTER TABLE calls ADD COLUMN amd TEXT CHECK (amd IS NULL OR json_valid(amd));
  `,
  // The id a media client sent (callpilot's own id is calls.id); kept for correlation, never used in a path.
  `
  ALTER TABLE calls ADD COLUMN external_id TEXT;
  CREATE INDEX calls_external_id ON calls (external_id) WHERE external_id IS NOT NULL;
  `,
  // The node registry (one row per callpilot process sharing this store).
  `
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    live_calls INTEGER NOT NULL,
    draining INTEGER NOT NULL CHECK (draining IN (0, 1)),
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
  ) STRICT;
  `,
  // API tokens (hashed), console sessions and server secrets (issue 9).
  `
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    grants TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(grants)),
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT,
    created_by TEXT
  ) STRICT;

  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX sessions_token ON sessions (token_id);

  CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  `,
  // The append-only, hash-chained audit log (issue 9).
  `
  CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    token_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  -- Append-only: the application never updates or deletes a row; the hash chain shows it if someone does anyway.
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  `,
  // Outbound campaigns (issue 11). Attempts are unique per (campaign, contact, attempt number) and carry a lease
  // (node_id, lease_until) so several nodes can share one database later (issue 14).
  `
  CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'running', 'paused', 'stopped', 'finished')),
    priority INTEGER NOT NULL DEFAULT 0,
    spec TEXT NOT NULL CHECK (json_valid(spec)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    role TEXT CHECK (role IN ('debtor', 'related', 'unrelated')),
    time_zone TEXT,
    consent INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1)),
    variables TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(variables)),
    row_no INTEGER,
    state TEXT NOT NULL CHECK (state IN ('pending', 'dialing', 'done', 'blocked', 'unknown')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT,
    last_disposition TEXT,
    UNIQUE (campaign_id, number)
  ) STRICT;
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
    duration_sec REAL,
    slots TEXT CHECK (slots IS NULL OR json_valid(slots)),
    note TEXT,
    UNIQUE (campaign_id, contact_id, attempt_no)
  ) STRICT;
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
  ) STRICT;

  CREATE TABLE import_reports (
    id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    file TEXT NOT NULL,
    created_at TEXT NOT NULL,
    rows INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE import_rejects (
    report_id TEXT NOT NULL REFERENCES import_reports (id) ON DELETE CASCADE,
    row_no INTEGER NOT NULL,
    col TEXT NOT NULL,
    reason TEXT NOT NULL,
    value TEXT
  ) STRICT;
  CREATE INDEX import_rejects_report ON import_rejects (report_id, row_no);

  CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL,
    event TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    tries INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX webhooks_due ON webhooks (state, next_at);
  `,
  // Calls-per-second budget per trunk, shared by every node that dials through it.
  `
  CREATE TABLE trunk_pacing (
    trunk TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    updated_ms INTEGER NOT NULL
  ) STRICT;
  `,
  // QA (质检) hits: one row per rule hit, with the leg, the text and where it is in the recording.
  `
  CREATE TABLE qa_hits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
    at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX qa_hits_call ON qa_hits (call_id, at_ms);
  CREATE INDEX qa_hits_at ON qa_hits (at);
  CREATE INDEX qa_hits_rule ON qa_hits (rule_id, at);
  `,
  // What the dialog understood of each turn: intent, its confidence, slots and the caller's emotion cue.
  `
  ALTER TABLE turns ADD COLUMN intent TEXT;
  ALTER TABLE turns ADD COLUMN confidence REAL;
  ALTER TABLE turns ADD COLUMN slots TEXT CHECK (slots IS NULL OR json_valid(slots));
  ALTER TABLE turns ADD COLUMN emotion TEXT;
  ALTER TABLE turns ADD COLUMN emotion_score REAL;
  `,
  // A turn that ends an earlier one the caller went on with after a pause (its answer replaced that one's).
  `
  ALTER TABLE turns ADD COLUMN continues_seq INTEGER;
  `,
];
