"""``backfill``: past days of usage reports and billing as OpenMetrics text for ``promtool``.

The day walk (:mod:`.walk`) reads each day with the live sources' own fetch and metric code, the
writer (:mod:`.openmetrics`) keeps every family's samples together while memory stays flat, and the
state (:mod:`.state`) lets an interrupted run continue without writing a sample twice.
"""
