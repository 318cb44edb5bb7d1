"""Image data: datasets, safe archive readers, batches and augmentation, corpora, drawings."""
