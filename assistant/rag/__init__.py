"""Retrieval over course documents: loaders, chunking, embeddings, FAISS+SQLite store."""

from assistant.rag.chunking import Chunk, chunk_document
from assistant.rag.embedder import DEFAULT_EMBED_MODEL, Embedder
from assistant.rag.evaluation import Question, evaluate, load_questions
from assistant.rag.indexer import Indexer, IndexReport, ProgressEvent, ensure_index
from assistant.rag.loaders import LoadedDocument, LoadError, load_document
from assistant.rag.retriever import MODES, Passage, Retriever
from assistant.rag.store import IndexStore
from assistant.rag.store_writer import IndexWriter

__all__ = [
    "DEFAULT_EMBED_MODEL",
    "MODES",
    "Chunk",
    "Embedder",
    "IndexReport",
    "IndexStore",
    "IndexWriter",
    "Indexer",
    "LoadError",
    "LoadedDocument",
    "Passage",
    "ProgressEvent",
    "Question",
    "Retriever",
    "chunk_document",
    "ensure_index",
    "evaluate",
    "load_document",
    "load_questions",
]
