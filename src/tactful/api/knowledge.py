"""``/v1/knowledge``: the tenant's articles for grounded replies (issue 14)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from tactful.api.channels import ServiceDep
from tactful.api.deps import CallerDep
from tactful.errors import NotFound

router = APIRouter(prefix="/v1", tags=["knowledge"])


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1, max_length=300, description="a name for the article; re-adding replaces it"
    )
    text: str = Field(min_length=1, max_length=2_000_000)
    format: str = Field(default="markdown", description="markdown | html | text")


class ArticleOut(BaseModel):
    source: str
    passages: int


@router.post("/knowledge", response_model=ArticleOut, status_code=201, summary="Add or replace an article")
def add_article(body: ArticleIn, key: CallerDep, service: ServiceDep) -> ArticleOut:
    count = service.knowledge.add(key.tenant_id, body.source, body.text, body.format)
    return ArticleOut(source=" ".join(body.source.split()), passages=count)


@router.get("/knowledge", response_model=list[ArticleOut], summary="The tenant's articles")
def list_articles(key: CallerDep, service: ServiceDep) -> list[ArticleOut]:
    return [ArticleOut(source=s, passages=n) for s, n in service.knowledge.sources(key.tenant_id)]


@router.delete("/knowledge", status_code=204, summary="Erase the tenant's knowledge base (or one ?source=)")
def erase_articles(key: CallerDep, service: ServiceDep, source: str | None = None) -> Response:
    gone = service.knowledge.erase(key.tenant_id, source)
    if source is not None and not gone:
        raise NotFound(f"no article {source!r}", code="article_not_found")
    service.engine.store.audit.append(key.tenant_id, "knowledge.erased", {"source": source, "passages": gone})
    return Response(status_code=204)
