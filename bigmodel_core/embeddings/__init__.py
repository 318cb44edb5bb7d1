"""Word embeddings: train Word2Vec, load GloVe/word2vec files, query, project, and cover a vocabulary.

Modules: `train` (Word2Vec on a dataset), `sets` (the saved vector sets in BIGMODEL_HOME/vectors),
`formats` (reading vector files), `vectors` (loading and importing), `glove` (the GloVe download),
`queries` (neighbours, analogies), `projection` (2-D/3-D maps), `coverage` (initialising models).
gensim and scikit-learn are imported inside the functions that need them, so importing this
package is cheap.
"""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "list_vector_sets": ".sets", "analogy": ".queries", "neighbours": ".queries", "parse_analogy": ".queries",
    "GLOVE": ".glove", "glove_info": ".glove", "load_vectors": ".vectors", "import_glove": ".vectors",
    "import_vectors": ".vectors", "import_uploaded_vectors": ".vectors", "word2vec_job": ".train", "Word2VecConfig": ".train",
    "embed_size_key": ".coverage", "params_for_vectors": ".coverage", "vectors_coverage": ".coverage",
    "embedding_map": ".maps",
})
