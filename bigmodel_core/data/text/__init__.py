"""Text data: the pipeline (tokens, vocabulary, ids), batching, tables, corpora and the built-in reviews."""
