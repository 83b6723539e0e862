"""Reporting: the business calendar, SLAs, SQL aggregates, reports, charts, digests and trends."""
