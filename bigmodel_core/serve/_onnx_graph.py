"""Models in a form ONNX can express: the recurrent classifier without packed sequences, example inputs.

`RNNClassifier` packs padded batches (`pack_padded_sequence`), which torch.export cannot trace and
ONNX has no operator for. `UnpackedRecurrent` computes the same thing from the same weights with
plain tensor operations: the forward direction reads the padded batch as it is and its state is
taken at each text's last real word; the backward direction reads every text reversed within its
own length (padding stays at the end), so it too starts at the last real word. This is what
packing computes, so any batch of texts of any lengths (whatever the padding holds) gives the
PyTorch model's answer; the export check runs such padded batches.

A plain tanh RNN is exported as a GRU whose gates are held fixed so that it takes the RNN's steps
(see _one_direction): torch.export would unroll nn.RNN over one fixed length.
"""
from __future__ import annotations

import torch
from torch import nn


SHUT = 1e4  # a gate bias that saturates its sigmoid to exactly 0 or 1 in float32


def _one_direction(rnn: nn.RNNBase, layer: int, reverse: bool) -> nn.RNNBase:
    """A one-layer, one-direction copy of layer `layer` (direction `reverse`) of `rnn`.

    A plain tanh RNN becomes a GRU that computes exactly the same: torch.export unrolls nn.RNN
    over the example's length (a fixed sequence length in the graph), while GRU and LSTM stay one
    ONNX operator. With its reset gate held open (r = 1) and its update gate shut (z = 0), a GRU
    step is h' = tanh(W_in x + b_in + W_hn h + b_hn): the RNN step, with the RNN's weights.
    """
    width = rnn.input_size if layer == 0 else rnn.hidden_size * (2 if rnn.bidirectional else 1)
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    names = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ())
    plain = type(rnn) is nn.RNN
    if plain and rnn.nonlinearity != "tanh":
        from ..errors import ModelError, msg

        raise ModelError(msg("errors.onnx.relu_rnn",
                             "A recurrent network with ReLU steps cannot be exported to ONNX with a variable length."),
                         msg("errors.onnx.relu_rnn.hint", "Use the tanh RNN, an LSTM or a GRU."))
    one = (nn.GRU if plain else type(rnn))(width, rnn.hidden_size, batch_first=True, bias=True)
    h = rnn.hidden_size
    with torch.no_grad():
        for p in one.parameters():
            p.zero_()
        for name in names:
            src, dst = getattr(rnn, name + suffix), getattr(one, f"{name}_l0")
            (dst[2 * h:] if plain else dst).copy_(src)  # the RNN's weights go to the GRU's candidate (n) rows
        if plain:
            one.bias_ih_l0[:h] = SHUT  # reset gate r = sigmoid(+SHUT) = 1
            one.bias_ih_l0[h:2 * h] = -SHUT  # update gate z = sigmoid(-SHUT) = 0: no blending with the old state
    return one.eval()


def _at(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[b, index[b, t], :] for every b, t: x (batch, seq, dim), index (batch, k) -> (batch, k, dim)."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(2)))


class UnpackedRecurrent(nn.Module):
    """An RNNClassifier (eval mode) as gathers and one-direction recurrent layers: (ids, lengths) -> logits."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        rnn = model.rnn
        self.embedding, self.fc = model.embedding, model.fc
        self.forward_layers = nn.ModuleList(_one_direction(rnn, k, False) for k in range(rnn.num_layers))
        self.backward_layers = nn.ModuleList(_one_direction(rnn, k, True) for k in range(rnn.num_layers)
                                             ) if rnn.bidirectional else None

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids)  # (batch, seq, emb); dropout is off in eval mode
        lengths = lengths.clamp(min=1)  # as RNNClassifier: an empty text reads as one position
        pos = torch.arange(ids.size(1), device=ids.device).unsqueeze(0)  # (1, seq)
        inside = pos < lengths.unsqueeze(1)
        reverse = torch.where(inside, lengths.unsqueeze(1) - 1 - pos, pos)  # (batch, seq): reversed within length
        last = (lengths - 1).unsqueeze(1)  # (batch, 1)
        finals: list[torch.Tensor] = []
        for k, layer in enumerate(self.forward_layers):
            out, _ = layer(x)  # (batch, seq, hidden)
            finals = [_at(out, last)]
            if self.backward_layers is not None:
                back, _ = self.backward_layers[k](_at(x, reverse))  # back[t] read words len-1 .. len-1-t
                finals.append(_at(back, last))
                out = torch.cat([out, _at(back, reverse)], dim=2)  # backward states at their own positions
            x = out
        return self.fc(torch.cat([h.squeeze(1) for h in finals], dim=1))


def exportable(model: nn.Module, model_name: str = "") -> nn.Module:
    """`model` as ONNX can express it: the unpacked form of a recurrent classifier, else the model itself.

    Raises a ModelError for int8 layers (their packed weights are script objects the exporter cannot read).
    """
    from ..errors import ModelError, msg
    from ..models.rnn import RNNClassifier

    packed = sorted({type(m).__module__.removeprefix("torch.ao.nn.").split(".modules")[0] + "." + type(m).__name__
                     for m in model.modules() if type(m).__module__.startswith("torch.ao.nn.quantized")})
    if packed:
        hint = msg("errors.onnx.int8.hint",
                   "Export the full-precision run it was quantized from, or serve this one with PyTorch.")
        if model_name:
            raise ModelError(msg("errors.onnx.int8_named", "The {model} model cannot be exported to ONNX: it uses int8 "
                                 "quantized layers ({layers}), whose packed weights the ONNX exporter cannot read.",
                                 model=model_name, layers=", ".join(packed)), hint)
        raise ModelError(msg("errors.onnx.int8", "The model cannot be exported to ONNX: it uses int8 quantized layers "
                             "({layers}), whose packed weights the ONNX exporter cannot read.",
                             layers=", ".join(packed)), hint)
    if isinstance(model, RNNClassifier):
        return UnpackedRecurrent(model).eval()
    return model


# --- inputs: the example the exporter traces, and the batches the check compares -------------------
# Sentences of many lengths, used beside the run's own texts (its misclassified validation examples)
# so that every run, even one with no mistakes, is checked at two lengths with padded batches.
SAMPLE_TEXTS = (
    "great", "boring", "not good at all", "a gripping, well acted film", "an awful, clumsy and tedious mess",
    "the plot was dull and the ending dragged on for far too long",
    "I loved the music, the cast and the photography, but the story never quite came together in the end",
    "one of the most charming and moving films I have seen in years, with a superb cast, a witty script, "
    "lovely music and an ending that stays with you long after the lights come up",
)
BATCH = 4  # the larger batch size checked (and traced); the smaller one is 1
IMAGE_SAMPLES = 5


def example_and_cases(predictor) -> tuple[nn.Module, tuple, tuple, list[str], list[dict]]:
    """(module to export, example inputs, dynamic shapes, input names, cases to check) for `predictor`.

    A case is {"batch", "seq" (text), "lengths" (text), "inputs": tensors}: for text, one text and
    a padded batch of texts of different lengths, each at a short and at the longest length.
    """
    from torch.export import Dim

    batch = Dim("batch")
    if predictor.task == "image":
        images = _sample_images(predictor)
        x = predictor.to_input(list(images))  # (n, channels, size, size) float32
        cases = [{"batch": n, "inputs": (x[:n],)} for n in (1, len(x))]
        return exportable(predictor.model, predictor.info.model_name), (x[:2],), ({0: batch},), ["images"], cases
    encoded = _sample_encodings(predictor)
    cases = [_case(encoded, rows) for rows in _text_rows(encoded)]
    example = _case(encoded, _example_rows(encoded))["inputs"]
    if example[0].size(1) < 2:  # a dimension of size 1 would be traced as fixed: one more column of padding
        example = (torch.nn.functional.pad(example[0], (0, 1)), example[1])
    dynamic = ({0: batch, 1: Dim("seq")}, {0: batch})
    return exportable(predictor.model, predictor.info.model_name), example, dynamic, ["ids", "lengths"], cases


def _sample_encodings(predictor) -> list:
    """Encoded texts: the run's own misclassified validation texts, SAMPLE_TEXTS, and the vocabulary's words."""
    texts = [m["text"] for m in predictor.info.misclassified if isinstance(m.get("text"), str)][:16]
    texts += list(SAMPLE_TEXTS)
    words = list(getattr(predictor.pipeline, "itos", [])[2:40])  # a word vocabulary's most frequent words
    texts += [" ".join(words[:k]) for k in (3, 9, len(words)) if len(words) >= k > 0]
    return [e for e in predictor.pipeline.encode(texts) if len(e)]


def _spread(items: list, k: int) -> list:
    """k items evenly spaced over `items` (first and last included), fewer if there are fewer."""
    if k <= 0:
        return []
    if len(items) <= k:
        return list(items)
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)] if k > 1 else items[-1:]


def _rows_up_to(encoded: list, length: int, size: int) -> list[int]:
    """`size` texts no longer than `length`, one of them exactly that long, the others of other lengths."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    fits = [i for i in order if len(encoded[i]) <= length]
    top = [i for i in fits if len(encoded[i]) == length][-1:]
    rows = top + _spread([i for i in fits if i not in top], size - 1)
    while len(rows) < size:  # few texts that short: repeat them (still a real batch)
        rows.append(fits[len(rows) % len(fits)])
    return rows


def _lengths(encoded: list) -> tuple[int, int]:
    """(a short length, the longest length) among the encoded texts."""
    lengths = sorted({len(e) for e in encoded})
    longest = lengths[-1]
    shorter = lengths[:-1]
    return (shorter[len(shorter) // 2] if shorter else longest), longest


def _text_rows(encoded: list) -> list[list[int]]:
    short, longest = _lengths(encoded)
    rows = []
    for length in dict.fromkeys((short, longest)):
        rows += [_rows_up_to(encoded, length, 1), _rows_up_to(encoded, length, BATCH)]
    return rows


def _example_rows(encoded: list) -> list[int]:
    longest = _lengths(encoded)[1]
    # batch and sequence must differ in the example: equal sizes may be traced as one dimension
    return _rows_up_to(encoded, longest, BATCH + 1 if longest == BATCH else BATCH)


def _case(encoded: list, rows: list[int]) -> dict:
    """A padded batch of texts `rows` (padding 0, as the engine's batches), with its shape."""
    lengths = [len(encoded[i]) for i in rows]
    ids = torch.zeros((len(rows), max(lengths)), dtype=torch.int64)
    for r, i in enumerate(rows):
        ids[r, : lengths[r]] = torch.as_tensor(encoded[i])
    return {"batch": len(rows), "seq": max(lengths), "lengths": lengths,
            "inputs": (ids, torch.tensor(lengths, dtype=torch.int64))}


def _sample_images(predictor):
    """uint8 (n, size, size, channels): the run's misclassified validation images, then seeded noise."""
    import numpy as np

    from ..runs.store import read_misclassified_images

    pre = predictor.preprocess
    shape = (pre.size, pre.size, pre.channels)
    found = read_misclassified_images(predictor.info.path)
    images = [im for im in (found if found is not None else []) if im.shape == shape][:IMAGE_SAMPLES]
    rng = np.random.default_rng(0)
    images += [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(IMAGE_SAMPLES - len(images))]
    return np.stack(images)
