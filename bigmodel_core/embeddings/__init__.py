"""Word embeddings: train Word2Vec, load GloVe/word2vec files, query, project, and cover a vocabulary.

Modules: `train` (Word2Vec on a dataset), `sets` (the saved vector sets in BIGMODEL_HOME/vectors),
`formats` (reading vector files), `vectors` (loading and importing), `glove` (the GloVe download),
`queries` (neighbours, analogies), `projection` (2-D/3-D maps), `coverage` (initialising models).
gensim and scikit-learn are imported inside the functions that need them, so importing this
package is cheap.
"""
