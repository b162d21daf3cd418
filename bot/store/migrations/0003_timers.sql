-- Durable timers: incident procedure prompts, escalations, run follow-ups. The rows are the state, so a
-- restart loses nothing; a row is claimed with FOR UPDATE SKIP LOCKED and marked fired in the same
-- transaction, so two bot processes never fire it twice.

CREATE TABLE timers (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    -- The logical timer ("incident:42:diagnosis"): scheduling the same key again is a no-op.
    key          text NOT NULL UNIQUE,
    due_at       timestamptz NOT NULL,
    -- When it may next be tried: due_at at first, later after a failed attempt's backoff.
    next_at      timestamptz NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    incident_id  bigint REFERENCES incidents (id) ON DELETE CASCADE,
    -- Runs belong to the engine, which may reshape its tables: no foreign key here.
    run_id       bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Bumped when a pending timer is re-armed, so a firing that raced the re-arm does not consume it.
    revision     integer NOT NULL DEFAULT 0,
    fired_at     timestamptz,
    cancelled_at timestamptz,
    -- Set when it failed max_attempts times: kept with its last error, never tried again.
    failed_at    timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX timers_pending ON timers (next_at)
    WHERE fired_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL;
CREATE INDEX timers_pending_incident ON timers (incident_id)
    WHERE incident_id IS NOT NULL AND fired_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL;
CREATE INDEX timers_pending_run ON timers (run_id)
    WHERE run_id IS NOT NULL AND fired_at IS NULL AND cancelled_at IS NULL AND failed_at IS NULL;
