"""Datasets: built-in sets, uploads, downloads, the text pipeline and the image pipeline."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "load_dataset": ".dataset", "list_datasets": ".dataset", "data_overview": ".overview",
    "augment_preview": ".overview", "test_images": ".overview", "save_upload": ".uploads",
    "inspect_table": ".uploads", "check_image_upload": ".images", "is_image_spec": ".images",
    "CORPORA": ".corpora", "corpus_info": ".corpora", "download_corpus": ".corpora",
    "IMAGE_CORPORA": ".image_corpora", "download_images": ".image_corpora", "image_corpus_info": ".image_corpora",
    "prepare_drawing": ".drawing", "prepare_upload": ".drawing",
})
