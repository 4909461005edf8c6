"""The knowledge base: chunking, retrieval with the embed encoder, the API and the CLI, erasure."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tactful.cli import app
from tactful.knowledge import chunk_document
from tactful.knowledge.chunking import TARGET_CHARS
from tests.channels.conftest import Live

ARTICLE = """# Delivery times

Standard delivery takes 3 to 5 working days. Express delivery arrives the next working day.

# Returns

You can return any item within 30 days for a full refund to the original payment method.

# Passwords

To reset your password, open Settings, choose Security and follow the link we e-mail you.
"""


def test_markdown_passages_carry_their_section_heading() -> None:
    chunks = chunk_document(ARTICLE, "markdown")
    assert any(c.startswith("Returns\n") and "30 days" in c for c in chunks)
    long = chunk_document("word " * 2000, "text")
    assert all(len(c) <= TARGET_CHARS + 10 for c in long) and len(long) > 5


def test_html_keeps_text_and_drops_scripts() -> None:
    html = "<h1>Returns</h1><p>Return within <b>30 days</b>.</p><script>alert('x')</script><style>p{}</style>"
    (chunk,) = chunk_document(html, "html")
    assert "30 days" in chunk and "alert" not in chunk and "p{}" not in chunk


def test_search_finds_the_relevant_passage_per_tenant(live: Live) -> None:
    kb = live.service.knowledge
    assert kb.add(live.tenant_id, "help.md", ARTICLE, "markdown") == 3
    top = kb.search(live.tenant_id, "how do I reset my password?", k=1)
    assert top and "reset your password" in top[0].text and top[0].source == "help.md"
    refund = kb.search(live.tenant_id, "can I send it back and get my money refunded?", k=1)
    assert refund and "30 days" in refund[0].text
    assert kb.search("ten_other", "password", k=3) == []


def test_the_api_adds_lists_and_erases(live: Live) -> None:
    r = live.client.post(
        "/v1/knowledge",
        json={"source": "help.md", "text": ARTICLE, "format": "markdown"},
        headers=live.auth(),
    )
    assert r.status_code == 201 and r.json() == {"source": "help.md", "passages": 3}
    assert live.client.get("/v1/knowledge", headers=live.auth()).json() == [
        {"source": "help.md", "passages": 3}
    ]
    bad = live.client.post(
        "/v1/knowledge", json={"source": "x", "text": "hi", "format": "pdf"}, headers=live.auth()
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_format"
    empty = live.client.post(
        "/v1/knowledge",
        json={"source": "x", "text": "<script>x</script>", "format": "html"},
        headers=live.auth(),
    )
    assert empty.status_code == 422 and empty.json()["code"] == "empty_document"
    assert live.client.request("DELETE", "/v1/knowledge", headers=live.auth()).status_code == 204
    assert live.client.get("/v1/knowledge", headers=live.auth()).json() == []
    assert live.service.knowledge.search(live.tenant_id, "password") == []


def test_the_cli_adds_files(live: Live, tmp_path: Path) -> None:
    article = tmp_path / "faq.md"
    article.write_text(ARTICLE, encoding="utf-8")
    db = str(live.store._db.engine.url)
    runner = CliRunner()
    result = runner.invoke(app, ["knowledge", "add", str(article), "--tenant", "acme", "--db", db])
    assert result.exit_code == 0, result.output
    assert "faq.md: 3 passage(s)" in result.output
    missing = runner.invoke(
        app, ["knowledge", "add", str(tmp_path / "nope.md"), "--tenant", "acme", "--db", db]
    )
    assert missing.exit_code == 2
    assert live.service.knowledge.sources(live.tenant_id) == [("faq.md", 3)]
