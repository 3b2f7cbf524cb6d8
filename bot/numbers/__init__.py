"""The owner's numbers: KPIs, reports and their schedule, charts, anomalies, payroll, ROI,
ad spend and exports. Computed by SQL aggregates from the core's models; no channel library."""
