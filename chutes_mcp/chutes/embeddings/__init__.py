"""Embeddings: the embedding models (not listed by `/v1/models`) and batching many texts."""
