-- Initial schema: what the incident, alert, runbook and Slack capabilities record.

CREATE TABLE incidents (
    id              bigserial PRIMARY KEY,
    severity        text NOT NULL CHECK (severity IN ('P1', 'P2', 'P3', 'P4')),
    title           text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    source          text NOT NULL CHECK (source IN ('alertmanager', 'declared')),
    -- Alertmanager group identity: one incident per (receiver, group_key) at a time.
    am_receiver     text,
    am_group_key    text,
    commander       text,
    declared_by     text,
    channel         text,
    thread_ts       text,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by text,
    mitigated_at    timestamptz,
    resolved_at     timestamptz,
    resolved_by     text,
    summary         text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_open ON incidents (status) WHERE status = 'open';
CREATE INDEX incidents_group ON incidents (am_receiver, am_group_key, opened_at DESC);
CREATE INDEX incidents_thread ON incidents (channel, thread_ts);

CREATE TABLE timeline_events (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,
    actor       text,
    text        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX timeline_by_incident ON timeline_events (incident_id, at, id);

-- Every webhook delivery as received, stored before it is answered.
CREATE TABLE alert_notifications (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    receiver     text NOT NULL,
    group_key    text NOT NULL,
    status       text NOT NULL,
    digest       text NOT NULL UNIQUE,
    payload      jsonb NOT NULL,
    processed_at timestamptz
);
CREATE INDEX alert_notifications_pending ON alert_notifications (id) WHERE processed_at IS NULL;

-- Latest known state of each alert (by fingerprint within its group).
CREATE TABLE alerts (
    receiver     text NOT NULL,
    group_key    text NOT NULL,
    fingerprint  text NOT NULL,
    incident_id  bigint REFERENCES incidents (id) ON DELETE SET NULL,
    status       text NOT NULL CHECK (status IN ('firing', 'resolved')),
    labels       jsonb NOT NULL,
    annotations  jsonb NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz,
    generator_url text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (receiver, group_key, fingerprint)
);

CREATE TABLE runbook_runs (
    id           bigserial PRIMARY KEY,
    runbook      text NOT NULL,
    environment  text NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    requested_by text NOT NULL,
    incident_id  bigint REFERENCES incidents (id) ON DELETE SET NULL,
    status       text NOT NULL CHECK (status IN
                   ('pending', 'running', 'waiting', 'succeeded', 'failed', 'aborted', 'cancelled')),
    channel      text,
    message_ts   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    error        text
);
CREATE INDEX runbook_runs_env ON runbook_runs (environment, created_at DESC);

CREATE TABLE run_steps (
    run_id      bigint NOT NULL REFERENCES runbook_runs (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    name        text NOT NULL,
    handler     text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}'::jsonb,
    dangerous   boolean NOT NULL DEFAULT false,
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN
                  ('pending', 'running', 'waiting', 'done', 'failed', 'skipped', 'cancelled')),
    started_at  timestamptz,
    finished_at timestamptz,
    output      text,
    result      jsonb,
    PRIMARY KEY (run_id, position)
);

CREATE TABLE approvals (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES runbook_runs (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    requested_by text NOT NULL,
    approved_by text,
    decision    text NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'approved', 'expired', 'cancelled')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    decided_at  timestamptz,
    expires_at  timestamptz NOT NULL,
    UNIQUE (run_id, position)
);

CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text,
    kind       text NOT NULL,          -- command | action | view | webhook
    action     text NOT NULL,          -- e.g. "/deploy", "confirm_step"
    detail     text NOT NULL DEFAULT '',
    channel    text,
    outcome    text NOT NULL CHECK (outcome IN ('accepted', 'refused')),
    reason     text,
    request_id text
);
CREATE INDEX audit_by_time ON audit_log (at DESC);

-- Slack calls to make, so a Slack outage loses nothing.
CREATE TABLE slack_outbox (
    id          bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    method      text NOT NULL,
    args        jsonb NOT NULL,
    ordering_key text,
    attempts    integer NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    result      jsonb,
    last_error  text
);
CREATE INDEX slack_outbox_due ON slack_outbox (next_try_at) WHERE sent_at IS NULL;
