"""A tenant's knowledge base for grounded replies: articles in, chunks embedded with the project's
own encoder, top-k passages out (cited on the decision as ``explanation.sources``)."""

from tactful.knowledge.base import KnowledgeBase, Passage
from tactful.knowledge.chunking import chunk_document, document_text

__all__ = ["KnowledgeBase", "Passage", "chunk_document", "document_text"]
