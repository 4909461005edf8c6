"""``tactful knowledge add|list|erase``: a tenant's articles for grounded replies (docs/generation.md).

Exit codes as everywhere: 0 done, 2 bad input (a missing file, an empty article), 3 the store could
not be reached.
"""

# No ``from __future__ import annotations``: typer reads the annotations at run time.
from pathlib import Path
from typing import Annotated

import typer

from tactful.cli_support import opened_store, tenant_id_of

knowledge_app = typer.Typer(
    no_args_is_help=True, help="The knowledge base generated replies are grounded on."
)
DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: $TACTFUL_DATABASE_URL).")]
TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant name.")]
MAX_FILE_BYTES = 2_000_000


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.add_typer(knowledge_app, name="knowledge")


@knowledge_app.command("add")
def add(
    files: Annotated[list[Path], typer.Argument(help="Markdown, HTML or text articles.")],
    tenant: TenantOption,
    db: DbOption = None,
) -> None:
    """Chunk, embed and store articles (a file added again replaces its earlier passages)."""
    from tactful.cli import errors_to_exit, fail, out
    from tactful.knowledge import KnowledgeBase
    from tactful.knowledge.chunking import format_of

    with errors_to_exit(), opened_store(db) as store:
        tid = tenant_id_of(store, tenant)
        kb = KnowledgeBase(store.knowledge)
        for path in files:
            if not path.is_file():
                fail(f"{path}: no such file", "file_not_found")
            if path.stat().st_size > MAX_FILE_BYTES:
                fail(f"{path}: larger than {MAX_FILE_BYTES} bytes", "payload_too_large")
            try:
                raw = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                fail(f"{path}: not UTF-8 text", "invalid_encoding")
            count = kb.add(tid, path.name, raw, format_of(path.name))
            out.print(f"{path.name}: {count} passage(s)")


@knowledge_app.command("list")
def list_(tenant: TenantOption, db: DbOption = None) -> None:
    """The tenant's articles and their passage counts."""
    from tactful.cli import errors_to_exit, out
    from tactful.knowledge import KnowledgeBase

    with errors_to_exit(), opened_store(db) as store:
        for source, count in KnowledgeBase(store.knowledge).sources(tenant_id_of(store, tenant)):
            out.print(f"{source}\t{count}")


@knowledge_app.command("erase")
def erase(
    tenant: TenantOption,
    source: Annotated[str | None, typer.Option(help="Only this article.")] = None,
    db: DbOption = None,
) -> None:
    """Erase the tenant's knowledge base (or one article)."""
    from tactful.cli import errors_to_exit, out
    from tactful.knowledge import KnowledgeBase

    with errors_to_exit(), opened_store(db) as store:
        gone = KnowledgeBase(store.knowledge).erase(tenant_id_of(store, tenant), source)
        out.print(f"erased {gone} passage(s)")
