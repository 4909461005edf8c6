"""The console in a real browser: Debian's chromium driven by Playwright against a real uvicorn
process. Sign in, open a decision, diff two policies, publish one, see a chart render, an auditor
cannot publish, tenant B sees nothing of tenant A — and the stream updates live.

Screenshots of every page go to a temporary folder, or to ``$TACTFUL_SCREENSHOTS``; that is how
docs/console/*.png are made:
``TACTFUL_SCREENSHOTS=docs/console .venv/bin/pytest tests/console/test_browser.py``.
Skips only when /usr/bin/chromium is absent (``apt-get install chromium``; .ci/run installs it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tactful.api.process import ServerProcess, server_process
from tactful.config import Settings
from tests.console.scenario import Scenario, build

CHROMIUM = Path("/usr/bin/chromium")
#: As root on a closed network (docs: /work/.library/env/machines/python-svc.md).
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("TACTFUL_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scenario, ServerProcess]]:
    folder = tmp_path_factory.mktemp("console-browser")
    url = f"sqlite:///{folder / 'console.db'}"
    decisions = 240 if os.environ.get("TACTFUL_SCREENSHOTS") else 90
    scenario = build(url, decisions=decisions)
    env = {**os.environ, **Settings(database_url=url, log_level="WARNING").as_environment()}
    with server_process(env) as server:
        yield scenario, server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    found = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
    yield found
    found.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})  # its own cookies
    context.set_default_timeout(20_000)
    found = context.new_page()
    problems: list[str] = []
    # A Content-Security-Policy violation (an inline style or script slipping in) or a script
    # error shows up in the browser's console; expected 403/404 answers are the only errors allowed.
    found.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    found.on("pageerror", lambda e: problems.append(str(e)))
    yield found
    context.close()
    assert [p for p in problems if "status of 403" not in p and "status of 404" not in p] == []


def sign_in(page: Page, base: str, api_key: str) -> None:
    page.goto(f"{base}/console")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/decisions$"))


def test_sign_in_open_a_decision_and_the_stream_is_live(
    page: Page, world: tuple[Scenario, ServerProcess], shots: Path
) -> None:
    scenario, server = world
    page.goto(f"{server.base_url}/console/sign-in")
    page.screenshot(path=shots / "sign-in.png")
    sign_in(page, server.base_url, scenario.admin_key)
    rows = page.locator("#stream-rows tr[data-id]")
    expect(rows.first).to_be_visible()
    page.screenshot(path=shots / "decisions.png", full_page=False)
    # A decision made now appears without a reload (the page polls for newer rows).
    before = rows.count()
    body = {
        "customer_id": "cust-live",
        "conversation_id": "live-1",
        "channel": "chat",
        "text": "Hello, anyone there?",
    }
    made = httpx.post(
        f"{server.base_url}/v1/messages",
        json=body,
        headers={"Authorization": f"Bearer {scenario.admin_key}"},
        timeout=30,
    )
    assert made.status_code == 200, made.text
    expect(page.locator(f'tr[data-id="{made.json()["decision_id"]}"]')).to_be_visible(timeout=30_000)
    assert rows.count() == before + 1
    # Filter, then open one decision.
    page.select_option("#f-channel", "email")
    page.click("form.filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"channel=email"))
    page.locator("#stream-rows tr[data-id] a").first.click()
    expect(page.locator("h1")).to_contain_text("Decision")
    expect(page.get_by_role("heading", name="Rules fired")).to_be_visible()
    expect(page.locator(".reply")).to_be_visible()
    expect(page.get_by_text("Features as of the decision")).to_be_visible()
    page.screenshot(path=shots / "decision.png", full_page=True)


def test_diff_two_policies_then_publish_one(
    page: Page, world: tuple[Scenario, ServerProcess], shots: Path
) -> None:
    scenario, server = world
    sign_in(page, server.base_url, scenario.admin_key)
    page.click("nav >> text=Policies")
    page.screenshot(path=shots / "policies.png")
    page.select_option("#a", "1")
    page.select_option("#b", "2")
    page.click("text=Diff")
    expect(page.locator("ul.changes")).to_contain_text("billing-warmth")
    expect(page.locator("table.diff tr.add, table.diff tr.chg").first).to_be_visible()
    page.screenshot(path=shots / "policy-diff.png", full_page=False)
    # Publish: validate, review, confirm.
    page.goto(f"{server.base_url}/console/policies/new")
    source = page.input_value("#source")
    page.fill("#source", source.replace("description: ", "description: (edited in the console) ", 1))
    page.click("text=Validate and review")
    expect(page.locator("h1")).to_contain_text("Valid")
    expect(page.locator("ul.changes")).to_contain_text("description")
    page.screenshot(path=shots / "policy-confirm.png", full_page=False)
    page.check("input[name=activate]")
    page.click("#confirm-publish")
    expect(page.locator(".note")).to_contain_text("published and activated")
    expect(page.locator("h1 .badge")).to_have_text("active")
    active = httpx.get(
        f"{server.base_url}/v1/policies/active",
        headers={"Authorization": f"Bearer {scenario.admin_key}"},
        timeout=30,
    )
    assert "(edited in the console)" in active.json()["source"]


def test_charts_render(page: Page, world: tuple[Scenario, ServerProcess], shots: Path) -> None:
    scenario, server = world
    sign_in(page, server.base_url, scenario.admin_key)
    page.goto(f"{server.base_url}/console/charts?range=7d")
    charts = page.locator("svg.chart[role=img]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 6
    bar = page.locator("svg.chart rect").first
    box = bar.bounding_box()
    assert box is not None and box["width"] > 1 and box["height"] > 0  # drawn, with a size
    page.screenshot(path=shots / "charts.png", full_page=True)


def test_other_pages(page: Page, world: tuple[Scenario, ServerProcess], shots: Path) -> None:
    scenario, server = world
    sign_in(page, server.base_url, scenario.admin_key)
    page.goto(f"{server.base_url}/console/audit")
    expect(page.locator(".note")).to_contain_text("Verified")
    page.screenshot(path=shots / "audit.png")
    page.goto(f"{server.base_url}/console/experiments")
    page.screenshot(path=shots / "experiments.png")
    page.goto(f"{server.base_url}/console/experiments/{scenario.experiment_id}")
    expect(page.get_by_role("heading", name="Guardrails")).to_be_visible()
    page.screenshot(path=shots / "experiment.png", full_page=True)
    page.goto(f"{server.base_url}/console/customers/{scenario.customer_id}")
    expect(page.get_by_text("How it shaped our last")).to_be_visible()
    page.screenshot(path=shots / "customer-why.png", full_page=False)
    with page.expect_download() as download:
        page.click("text=Export this page for the customer")
    assert download.value.suggested_filename == f"why-{scenario.customer_id}.html"


def test_an_auditor_cannot_publish(page: Page, world: tuple[Scenario, ServerProcess]) -> None:
    scenario, server = world
    sign_in(page, server.base_url, scenario.auditor_key)
    expect(page.locator("header .who")).to_contain_text("auditor")
    expect(page.locator("nav >> text=Customers")).to_have_count(0)
    page.goto(f"{server.base_url}/console/policies/new")
    expect(page.locator("h1")).to_have_text("Validate a policy")
    page.click("text=Validate and review")
    expect(page.locator("h1")).to_contain_text("Valid")
    expect(page.locator("#confirm-publish")).to_have_count(0)
    # Even a hand-made request with the auditor's own session and token is refused.
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{server.base_url}/console/policies/publish",
        form={"csrf": token or "", "source": "schema_version: 1\n", "confirm": "yes"},
        headers={"Origin": server.base_url},
    )
    assert answer.status == 403
    assert page.goto(f"{server.base_url}/console/customers/{scenario.customer_id}").status == 403  # type: ignore[union-attr]


def test_tenant_b_sees_nothing_of_tenant_a(
    page: Page, world: tuple[Scenario, ServerProcess], shots: Path
) -> None:
    scenario, server = world
    sign_in(page, server.base_url, scenario.other_admin_key)
    expect(page.locator("#stream-empty")).to_be_visible()
    for decision_id in scenario.decision_ids[:3]:
        assert page.goto(f"{server.base_url}/console/decisions/{decision_id}").status == 404  # type: ignore[union-attr]
    assert page.goto(f"{server.base_url}/console/experiments/{scenario.experiment_id}").status == 404  # type: ignore[union-attr]
    page.goto(f"{server.base_url}/console/policies")
    expect(page.locator("table tbody tr")).to_have_count(1)  # only its own v1
    page.goto(f"{server.base_url}/console/audit")
    expect(page.locator("body")).not_to_contain_text("experiment.create")
