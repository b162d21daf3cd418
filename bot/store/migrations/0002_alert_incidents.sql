-- Alertmanager → incident threads: group context on incidents, the state each incident already
-- reflects per alert, processing bookkeeping for notifications, and an ordered, coalescing Slack outbox.

ALTER TABLE incidents
    ADD COLUMN am_context       jsonb,
    ADD COLUMN header_outbox_id bigint,
    ADD COLUMN reopened_count   integer NOT NULL DEFAULT 0,
    ADD COLUMN silenced_until   timestamptz,
    ADD COLUMN silenced_by      text;
-- One open incident per Alertmanager group, whatever races: two identical webhooks make one incident.
CREATE UNIQUE INDEX incidents_one_open_per_group ON incidents (am_receiver, am_group_key)
    WHERE status = 'open' AND am_group_key IS NOT NULL;

-- Each alert's newest state as its incident reflects it. Only the alert processor writes this table;
-- the webhook first stores the delivery, every alert in it, in alert_notifications.
ALTER TABLE alerts
    ADD COLUMN last_notification_id bigint,
    ADD COLUMN severity             text CHECK (severity IN ('P1', 'P2', 'P3', 'P4'));
CREATE INDEX alerts_by_incident ON alerts (incident_id);

ALTER TABLE alert_notifications
    ADD COLUMN process_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN process_error    text;
CREATE INDEX alert_notifications_group_pending ON alert_notifications (receiver, group_key, id)
    WHERE processed_at IS NULL;

-- Outbox rows are sent in id order per lane (ordering_key, or the row alone), at most one call per
-- lane per interval. A pending row may be superseded (a newer header edit) or merged into (replies).
ALTER TABLE slack_outbox
    ADD COLUMN lane          text GENERATED ALWAYS AS (coalesce(ordering_key, 'row:' || id::text)) STORED,
    ADD COLUMN state         text NOT NULL DEFAULT 'pending'
                                 CHECK (state IN ('pending', 'sent', 'failed', 'superseded')),
    ADD COLUMN coalesce_key  text,
    ADD COLUMN refs          jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN tag           text,
    -- A renderer that completes `args` when the row is sent (the content is current when Slack gets it).
    ADD COLUMN render        text,
    ADD COLUMN claimed_until timestamptz;
CREATE INDEX slack_outbox_pending_lane ON slack_outbox (lane, id) WHERE state = 'pending';
CREATE INDEX slack_outbox_pending_coalesce ON slack_outbox (coalesce_key, id) WHERE state = 'pending';
CREATE INDEX slack_outbox_sent_lane ON slack_outbox (lane, sent_at DESC) WHERE state = 'sent';
