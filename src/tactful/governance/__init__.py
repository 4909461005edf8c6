"""Governance: rate limits, retention and purges, compliance reports.

Keys and authentication live in ``tactful.tenants``; their tables in ``tactful.store.sql_governance``.
"""
