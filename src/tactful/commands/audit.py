"""``tactful audit verify|anchor``: check the audit chains and the decisions they vouch for; anchor
their signed heads outside the database (docs/security.md, "Tamper evidence").

Exit codes as everywhere: 0 done, 1 a check failed (tampering found), 2 bad input, 3 the store
could not be reached.
"""

# No ``from __future__ import annotations``: typer reads the annotations at run time.
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: $TACTFUL_DATABASE_URL).")]


def register(audit_app: typer.Typer) -> None:
    audit_app.command("verify")(audit_verify)
    audit_app.command("anchor")(audit_anchor)


def audit_verify(
    db: DbOption = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all).")] = None,
    anchor: Annotated[
        Path | None,
        typer.Option(help="An anchor file (tactful audit anchor): the chains must still hold it."),
    ] = None,
) -> None:
    """Check every tenant's hash chains, their signed heads and every stored decision against its
    entry. Exit 1 naming the first broken entry."""
    from tactful.cli import errors_to_exit, out, settings_for
    from tactful.cli_support import tenant_id_of
    from tactful.errors import InputRejected
    from tactful.store import open_store
    from tactful.store.anchor import read_anchor

    with errors_to_exit():
        settings = settings_for(db)
        store = open_store(settings.database_url, settings=settings)
        try:
            pins = None
            if anchor is not None:
                try:
                    text = anchor.read_text(encoding="utf-8")
                except OSError as exc:
                    raise InputRejected(
                        f"cannot read {anchor}: {exc.strerror}", code="anchor_unreadable"
                    ) from exc
                pinned = read_anchor(store.audit.chain, text)
                pins = pinned.pins
                out.print(f"anchor of {pinned.taken_at}: {len(pins)} chain head(s)")
            tenant_id = tenant_id_of(store, tenant) if tenant else None
            results = store.audit.verify(tenant_id, anchor=pins)
            if pins and tenant_id is None:
                known = {r.tenant_id for r in results}
                gone = sorted({t for t, _ in pins} - known)
                if gone:
                    out.print(
                        f"[red]BROKEN[/] anchored tenant(s) missing from the database: {', '.join(gone)}"
                    )
                    raise typer.Exit(1)
        finally:
            store.close()
    for r in results:
        if r.ok:
            out.print(
                f"[green]ok[/]     tenant {r.tenant_id}: {r.checked} entries, {r.decisions_checked} decisions"
            )
        else:
            where = f"chain {r.shard} seq {r.first_bad_seq}" if r.first_bad_seq is not None else "decisions"
            out.print(f"[red]BROKEN[/] tenant {r.tenant_id}: first bad at {where}: {r.reason}")
    if any(not r.ok for r in results):
        raise typer.Exit(1)


def audit_anchor(
    out_file: Annotated[
        Path, typer.Option("--out", help="Where to write the anchor (keep it off this host).")
    ],
    db: DbOption = None,
) -> None:
    """Write every chain's signed head to a file, after checking the heads' signatures."""
    from tactful.cli import errors_to_exit, out, settings_for
    from tactful.errors import InputRejected
    from tactful.store import open_store
    from tactful.store.anchor import anchor_text

    with errors_to_exit():
        settings = settings_for(db)
        store = open_store(settings.database_url, settings=settings)
        try:
            heads = store.audit.heads()
            text = anchor_text(store.audit.chain, heads, datetime.now(UTC))
        finally:
            store.close()
        try:
            _write_atomically(out_file, text)
        except OSError as exc:
            raise InputRejected(f"cannot write {out_file}: {exc.strerror}", code="anchor_unwritable") from exc
    out.print(f"anchored {len(heads)} chain head(s) to {out_file}")


def _write_atomically(path: Path, text: str) -> None:
    """A crash mid-write leaves the previous anchor, never half a file."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
