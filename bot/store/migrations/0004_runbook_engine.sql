-- The runbook engine: what a run needs beyond 0001 to resume after a click, a timer or a restart.

-- 'scheduled': the remaining steps are a follow-up (e.g. cleanup 24 h after the switch); the run holds
-- no lock meanwhile.
ALTER TABLE runbook_runs DROP CONSTRAINT runbook_runs_status_check;
ALTER TABLE runbook_runs
    ADD CONSTRAINT runbook_runs_status_check CHECK (status IN
        ('pending', 'running', 'waiting', 'scheduled', 'succeeded', 'failed', 'aborted', 'cancelled')),
    ADD COLUMN title              text NOT NULL DEFAULT '',
    ADD COLUMN two_person_rule    boolean NOT NULL DEFAULT false,
    -- The fencing token of the environment lock this run holds (NULL: holds none).
    ADD COLUMN lock_token         bigint,
    -- The queued chat.postMessage of the run's message; message_ts is filled in once Slack accepted it.
    ADD COLUMN message_outbox_id  bigint,
    ADD COLUMN abort_requested_by text,
    ADD COLUMN abort_requested_at timestamptz,
    ADD COLUMN finished_by        text,
    -- A failed step that names a rollback runbook offers it; the run it started, once someone did.
    ADD COLUMN rollback_runbook   text,
    ADD COLUMN rollback_run_id    bigint,
    ADD COLUMN started_from_run   bigint,
    ADD COLUMN updated_at         timestamptz NOT NULL DEFAULT now();

ALTER TABLE run_steps
    ADD COLUMN step_id      text NOT NULL DEFAULT '',
    ADD COLUMN summary      text,
    ADD COLUMN confirm_text text,
    -- A delayed step (a follow-up) may not start before this.
    ADD COLUMN due_at       timestamptz;

ALTER TABLE approvals
    ADD COLUMN confirm_text text NOT NULL DEFAULT '';

-- Fencing: the highest lock token that has written to an environment. A run whose lock expired and was
-- taken by another run carries a lower token and is refused before it starts another step.
CREATE TABLE environment_fences (
    environment text PRIMARY KEY,
    token       bigint NOT NULL,
    run_id      bigint,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX runbook_runs_active ON runbook_runs (status) WHERE status IN ('pending', 'running', 'waiting', 'scheduled');
