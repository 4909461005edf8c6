"""The console over HTTP, in-process: sessions and their cookie, CSRF on every form, roles, tenant
isolation, the pages and their safety headers, and the flows (publish with confirmation, experiments,
a customer's exportable "why")."""

from __future__ import annotations

import re

import pytest

from tactful.tenants import issue_key, key_id_of
from tests.console.conftest import Bed, Browser

PAGES = (
    "/console/decisions",
    "/console/policies",
    "/console/policies/new",
    "/console/experiments",
    "/console/charts",
    "/console/charts?range=24h",
    "/console/charts?range=30d",
    "/console/audit",
)


@pytest.fixture
def admin(bed: Bed) -> Browser:
    b = bed.browser()
    assert b.sign_in(bed.acme.api_key).status_code == 303
    return b


@pytest.fixture
def auditor(bed: Bed) -> Browser:
    b = bed.browser()
    assert b.sign_in(bed.auditor_key).status_code == 303
    return b


def test_sign_in_sets_a_strict_http_only_cookie_secure_over_tls(bed: Bed) -> None:
    b = bed.browser()
    assert b.get("/console/decisions").headers["location"] == "/console/sign-in"
    r = b.sign_in(bed.acme.api_key)
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("tactful_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP here (a test client); over TLS it is Secure:
    tls = bed.browser("https://tactful.test")
    cookie = next(
        c for c in tls.sign_in(bed.acme.api_key).headers.get_list("set-cookie") if "tactful_console=" in c
    )
    assert "Secure" in cookie
    page = b.get("/console/decisions")
    assert page.status_code == 200 and "acme" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    # Signing out ends the session on the server: the old cookie no longer works.
    token = b.csrf("/console/decisions")
    assert b.post("/console/sign-out", {"csrf": token}).status_code == 303
    assert b.get("/console/decisions").status_code == 303
    kinds = [e.kind for e in bed.store.audit.entries(bed.acme.tenant.tenant_id)]  # type: ignore[arg-type]
    assert kinds.count("console.sign_in") == 2


def test_bad_keys_and_decide_keys_cannot_sign_in(bed: Bed) -> None:
    b = bed.browser()
    assert b.sign_in("tk_key_0000000000000000_nope").status_code == 401
    r = b.sign_in(bed.decide_key)
    assert r.status_code == 403 and "admin or auditor" in r.text
    assert b.get("/console/decisions").status_code == 303


def test_every_form_needs_its_csrf_token_and_the_same_origin(admin: Browser, bed: Bed) -> None:
    source = bed.store.get_policy(bed.acme.tenant.tenant_id).source  # type: ignore[arg-type, union-attr]
    for token in ("", "wrong"):
        r = admin.post("/console/policies/validate", {"csrf": token, "source": source})
        assert r.status_code == 403 and "csrf_failed" in r.text
    good = admin.csrf("/console/policies/new")
    r = admin.post(
        "/console/policies/validate",
        {"csrf": good, "source": source},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    fresh = bed.browser()  # the sign-in form is protected too (double-submit cookie)
    r = fresh.post("/console/sign-in", {"csrf": "forged", "api_key": bed.acme.api_key})
    assert r.status_code == 403


def test_every_page_renders_for_admin_and_auditor(admin: Browser, auditor: Browser, bed: Bed) -> None:
    decision = bed.decision_ids[0]
    for b in (admin, auditor):
        for path in (
            *PAGES,
            f"/console/decisions/{decision}",
            "/console/policies/1",
            "/console/policies/diff?a=1&b=2",
        ):
            r = b.get(path)
            assert r.status_code == 200, (path, r.text[:400])
            assert "<script>" not in r.text  # no inline script: the CSP would block it anyway


def test_the_stream_filters_and_the_live_rows(admin: Browser, bed: Bed) -> None:
    page = admin.get("/console/decisions?channel=email")
    shown = set(re.findall(r'data-id="(dec_[^"]+)"', page.text))
    assert shown
    for d in shown:
        found = bed.store.get_decision(bed.acme.tenant.tenant_id, d)  # type: ignore[arg-type]
        assert (
            found is not None and found.channel.primary is not None and found.channel.primary.value == "email"
        )
    degraded = admin.get("/console/decisions?degraded=yes").text
    assert "No decisions match" in degraded or "degraded" in degraded
    rule_rows = admin.get("/console/decisions?rule=no-such-rule").text
    assert "data-id=" not in rule_rows
    newest = re.search(r'data-at="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    rows = admin.get("/console/decisions/rows", params={"after": newest, "channel": "email"})
    assert rows.status_code == 200 and "data-id=" in rows.text
    assert admin.get("/console/decisions/rows?after=yesterday").status_code == 422


def test_a_decision_shows_its_explanation_and_auditors_see_no_features(
    admin: Browser, auditor: Browser, bed: Bed
) -> None:
    decision = bed.store.get_decision(bed.acme.tenant.tenant_id, bed.decision_ids[-1])  # type: ignore[arg-type]
    assert decision is not None
    page = admin.get(f"/console/decisions/{decision.decision_id}").text
    for rule in decision.explanation.rules_fired:
        assert rule in page
    assert decision.policy_version in page and "Features as of the decision" in page
    assert f"/console/customers/{decision.customer_id}" in page
    hidden = auditor.get(f"/console/decisions/{decision.decision_id}").text
    assert "Hidden for auditors" in hidden and f"/console/customers/{decision.customer_id}" not in hidden


def test_tenant_b_sees_nothing_of_tenant_a(bed: Bed) -> None:
    b = bed.browser()
    assert b.sign_in(bed.globex.api_key).status_code == 303
    stream = b.get("/console/decisions").text
    assert not any(d in stream for d in bed.decision_ids)
    assert b.get(f"/console/decisions/{bed.decision_ids[0]}").status_code == 404
    assert b.get("/console/policies/2").status_code == 404
    assert b.get("/console/customers/cust-1").status_code == 404
    assert "billing-warmth" not in b.get("/console/policies").text
    charts = b.get("/console/charts?range=30d").text
    assert "<strong>0</strong>" in charts  # no decisions counted


def test_publish_needs_validation_and_confirmation_and_an_admin(
    admin: Browser, auditor: Browser, bed: Bed
) -> None:
    tid = bed.acme.tenant.tenant_id
    source = bed.store.get_policy(tid).source.replace("description: ", "description: (console) ", 1)  # type: ignore[arg-type, union-attr]
    token = admin.csrf("/console/policies/new")
    bad = admin.post("/console/policies/validate", {"csrf": token, "source": source + "\nrules: [oops"})
    assert bad.status_code == 422 and "YAML" in bad.text
    review = admin.post("/console/policies/validate", {"csrf": token, "source": source})
    assert (
        review.status_code == 200 and "description" in review.text and 'id="confirm-publish"' in review.text
    )
    assert len(bed.store.list_policies(tid)) == 2  # type: ignore[arg-type]  # nothing published yet
    assert (
        admin.post("/console/policies/publish", {"csrf": token, "source": source}).status_code == 400
    )  # no confirm
    a_token = auditor.csrf("/console/policies/new")
    assert (
        auditor.post(
            "/console/policies/publish", {"csrf": a_token, "source": source, "confirm": "yes"}
        ).status_code
        == 403
    )
    done = admin.post(
        "/console/policies/publish", {"csrf": token, "source": source, "confirm": "yes", "activate": "yes"}
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/console/policies/3")
    assert bed.store.get_policy(tid).version == 3  # type: ignore[arg-type, union-attr]
    kinds = [e.kind for e in bed.store.audit.entries(tid)]  # type: ignore[arg-type]
    assert kinds[-2:] == ["policy.publish", "policy.activate"]
    assert auditor.get("/console/policies/2/activate").status_code == 403


def test_charts_render_svg_from_the_decisions(admin: Browser) -> None:
    page = admin.get("/console/charts?range=7d").text
    assert page.count('<svg class="chart"') >= 6
    assert "Actions over time" in page and "CSAT by tone style and channel" in page
    assert re.search(r"<rect [^>]*><title>[^<]+: \d", page)  # bars with their values


def test_audit_page_verifies_the_chain(admin: Browser) -> None:
    page = admin.get("/console/audit").text
    assert "Verified: all" in page and "decision" in page


def test_a_customers_why_page_and_its_export_are_for_admins(
    admin: Browser, auditor: Browser, bed: Bed
) -> None:
    page = admin.get("/console/customers/cust-1")
    assert page.status_code == 200 and "How it shaped our last" in page.text
    export = admin.get("/console/customers/cust-1/why.html")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert "What acme holds about you" in export.text
    data = admin.get("/console/customers/cust-1/export.json").json()
    assert data["customer_id"] == "cust-1" and data["decisions"]
    assert auditor.get("/console/customers/cust-1").status_code == 403
    assert admin.get("/console/customers?id=cust-1").headers["location"] == "/console/customers/cust-1"


def test_experiments_can_be_started_and_stopped_from_the_console(
    admin: Browser, auditor: Browser, bed: Bed
) -> None:
    token = admin.csrf("/console/experiments")
    form = {
        "csrf": token,
        "candidate_version": "2",
        "kind": "canary",
        "steps": "5,25,50,100",
        "name": "warmer billing",
    }
    assert (
        auditor.post(
            "/console/experiments", {**form, "csrf": auditor.csrf("/console/experiments")}
        ).status_code
        == 403
    )
    r = admin.post("/console/experiments", form)
    assert r.status_code == 303
    page = admin.get(r.headers["location"]).text
    assert "warmer billing" in page and "Guardrails" in page
    experiment_id = r.headers["location"].rsplit("/", 1)[1]
    confirm = admin.get(f"/console/experiments/{experiment_id}?confirm=stop").text
    assert 'id="confirm-stop"' in confirm
    assert admin.post(f"/console/experiments/{experiment_id}/stop", {"csrf": token}).status_code == 400
    assert (
        admin.post(
            f"/console/experiments/{experiment_id}/stop", {"csrf": token, "confirm": "yes"}
        ).status_code
        == 303
    )
    assert "stopped" in admin.get(f"/console/experiments/{experiment_id}").text


def test_revoking_the_key_ends_its_console_session(admin: Browser, bed: Bed) -> None:
    from tactful.tenants import governance_of

    key_id = key_id_of(bed.acme.api_key)
    assert key_id is not None
    issue_key(bed.store, bed.acme.tenant.tenant_id, "admin")  # not the last admin key: that one stays
    governance_of(bed.store).revoke_key(bed.acme.tenant.tenant_id, key_id, by="test")  # type: ignore[arg-type]
    assert admin.get("/console/decisions").status_code == 303
