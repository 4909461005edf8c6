"""The compliance report as one self-contained HTML page (no dependencies; every value escaped)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from string import Template

from tactful.governance.report import ComplianceReport

_PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Tactful compliance report — $tenant</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.ok{color:#1a7f37}.bad{color:#c62828;font-weight:bold}
</style></head><body>
<h1>Compliance report</h1>
<p>Tenant <code>$tenant</code>, entries since $since, generated $generated.
Audit chain: <span class="$chain_class">$chain</span>.</p>
<h2>Summary</h2>$summary
<h2>Constraint violations</h2>$violations
<h2>PII detections by type</h2>$pii
<h2>Erasures and customer-data events</h2>$customer
<h2>Policy, key and retention changes</h2>$changes
<h2>Consent changes</h2>$consent
</body></html>
""")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: ComplianceReport) -> str:
    o = report.opt_outs
    summary = _table(
        ("measure", "value"),
        [
            ("audit entries in period", report.audit_entries),
            ("decisions", report.decisions),
            ("decisions without recorded consent facts (not re-checked)", report.decisions_unverifiable),
            ("decisions for customers with opt-outs", o.decisions_with_opt_outs),
            ("decisions where an opted-out channel was blocked", o.opted_out_channel_blocked),
            ("contacts on opted-out channels", o.contacts_on_opted_out_channels),
            ("constraint violations", len(report.violations)),
            ("erasures", report.erasures),
        ],
    )
    violations = (
        '<p class="ok">None: every decision re-checked against its consent facts.</p>'
        if not report.violations
        else _table(
            ("decision", "rule", "channel", "detail"),
            [(v.decision_id, v.rule, v.channel or "", v.detail) for v in report.violations],
        )
    )
    return _PAGE.substitute(
        tenant=escape(report.tenant_id),
        since=escape(report.since.isoformat()),
        generated=escape(report.generated_at.isoformat()),
        chain_class="ok" if report.audit_chain_ok else "bad",
        chain="verifies" if report.audit_chain_ok else "BROKEN",
        summary=summary,
        violations=violations,
        pii=_table(("type", "messages"), sorted(report.pii_detections.items())),
        customer=_table(("kind", "count"), sorted(report.customer_events.items())),
        changes=_table(
            ("seq", "when", "kind", "by", "details"),
            [(c.seq, c.at.isoformat(), c.kind, c.by, c.details) for c in report.changes],
        ),
        consent=_table(
            ("when", "customer", "source", "by", "before", "after"),
            [
                (c.at.isoformat(), c.customer_id, c.source, c.by, _consent(c.before), _consent(c.after))
                for c in report.consent_changes
            ],
        ),
    )


def _consent(preferences: dict[str, object]) -> str:
    """The consent fields of a preferences snapshot, short enough for a table cell."""
    keys = ("opted_out", "opted_in", "do_not_contact", "change")
    return "; ".join(f"{k}={preferences[k]}" for k in keys if k in preferences)
