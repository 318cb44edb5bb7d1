"""Datasets: built-in sets, uploads, downloads, the text pipeline and the image pipeline."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "load_dataset": ".dataset", "list_datasets": ".dataset", "data_overview": ".overview",
    "augment_preview": ".overview", "test_images": ".overview", "save_upload": ".uploads",
    "inspect_table": ".uploads", "choose_tokenizer": ".text.pipeline", "check_image_upload": ".images.dataset", "is_image_spec": ".images.dataset",
    "CORPORA": ".text.corpora", "corpus_info": ".text.corpora", "download_corpus": ".text.corpora",
    "IMAGE_CORPORA": ".images.corpora", "download_images": ".images.corpora", "image_corpus_info": ".images.corpora",
    "prepare_drawing": ".images.drawing", "prepare_upload": ".images.drawing",
})
