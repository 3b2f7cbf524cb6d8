"""Staff work: leads, their statuses and events, staff roles, alerts, SLA, intake."""
