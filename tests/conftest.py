"""Fixtures every test gets: a private workspace and a fixed torch seed."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point BIGMODEL_HOME at a fresh folder so no test reads or writes the real workspace."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("BIGMODEL_HOME", str(home))
    torch.manual_seed(0)
    return home


TINY_BERT_WORDS = ("the a an and but film movie story acting plot it is was not no never very really so good great "
                   "wonderful fine lovely superb charming moving bad boring awful dull terrible clumsy tedious music cast ending quite "
                   "at all of to this that , . ! ' s").split()


def build_tiny_bert(folder, hidden: int = 32, layers: int = 2, heads: int = 2, seed: int = 0):
    """A tiny random BERT (hidden 32, 2 layers, 2 heads) with its own small WordPiece vocabulary, saved in
    Hugging Face format (config.json, model.safetensors, tokenizer.json, vocab.txt): a pretrained model
    for tests, with no download."""
    from pathlib import Path

    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_BERT_WORDS, "##s", "##ing", "##ed", "##ly"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    pieces = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=True)
    PreTrainedTokenizerFast(tokenizer_object=pieces._tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(str(folder))
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=hidden * 2, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(str(folder), safe_serialization=True)
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory):
    """The folder of a tiny random BERT in Hugging Face format, built once per test session."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
