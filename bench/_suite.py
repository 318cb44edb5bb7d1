"""The benchmark suite that run_all.py runs: each script's options, what it needs, and its figures for BENCHMARKS.md."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bench:
    name: str                      # bench/NAME.py
    section: str                   # where BENCHMARKS.md explains it ("" for none)
    quick: list[str] | None        # options under --quick; None: left out of --quick (see slow)
    full: list[str] = field(default_factory=list)
    data: str = ""                 # "" takes no --data; "optional" takes it; "required" skips without SST-2
    weights: bool = False          # passes --weights DIR through
    weights_in_quick: bool = True  # False: --weights is left out under --quick (the slow part it enables)
    slow: str = ""                 # why it is left out of --quick
    own_quick: list[str] = field(default_factory=lambda: ["--quick"])  # --quick --only NAME runs this


# Order: the figures first (cheapest first within them), then the other benchmarks.
SUITE = (
    Bench("train_throughput", "1", ["--quick", "--variants", "plain,engine"], data="required"),
    Bench("digits_cnn", "5", ["--quick"]),
    Bench("ddp_speed", "", ["--quick"], data="optional"),
    Bench("lime_speed", "3", ["--quick", "--models", "preset"], data="required"),
    Bench("cold_start", "", ["--quick"]),
    Bench("classroom", "10", ["--quick", "--only", "memory", "--memory-epochs", "1"]),
    Bench("browser_overhead", "4", ["--quick"]),
    Bench("lesson_overhead", "18", ["--quick"]),
    Bench("onnx_speed", "15", ["--max-rows", "2000", "--repeats", "100", "--warmup", "10"], data="optional"),
    Bench("rest_speed", "16", ["--max-rows", "2000", "--requests", "200", "--warmup", "20"], full=["--onnx"],
          data="optional"),
    Bench("sst2_accuracy", "2", ["--models", "lstm", "--epochs", "1", "--stop-at-target"], data="required"),
    Bench("optimize_sst2", "17", ["--rows", "4000", "--threads", "1"], data="required", weights=True,
          weights_in_quick=False),  # distillation (a MiniLM teacher) only in the full run
    Bench("pretrained_sst2", "14", None, data="required", weights=True,
          slow="fine-tuning MiniLM takes a minute or more even with its own --quick"),
    Bench("sst2_word2vec", "6", None, data="required", slow="Word2Vec on SST-2 plus three LSTM runs, ~7 min"),
    Bench("embeddings_speed", "7", None, data="optional", slow="a 10,000-word t-SNE, ~6 min"),
    Bench("sst2_small", "11", None, data="required", slow="7 models x 3 seeds, ~5 min"),
    Bench("images_28", "9", None, slow="3 models x 4 image sets x 3 seeds, ~5 min"),
    Bench("logging_overhead", "12", None, slow="5 pairs of 8-epoch runs, ~5 min"),
    Bench("scaling_sst2", "13", None, data="required", slow="8 LSTM widths on SST-2, ~7 min"),
)
BY_NAME = {b.name: b for b in SUITE}


# --- figures: one function per script, from its JSON lines to table rows ----------------------------------
# A row: (figure, value, reference measured in the same run, ratio, target, result); "" where none.
Row = tuple[str, str, str, str, str, str]


def n(x, digits: int = 2) -> str:
    """A number for the table: thousands separated, `digits` decimals; "–" for None."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int) or (isinstance(x, float) and abs(x) >= 1000):
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def verdict(ok) -> str:
    return "" if ok is None else ("**pass**" if ok else "**fail**")


def _summary(rows: list[dict]) -> dict:
    return next((r for r in reversed(rows) if r.get("kind") == "summary"), {})


def train_throughput(rows):
    s = _summary(rows)
    sps, ratio = s["samples_per_s"], s["ratio_vs_plain"]
    out = [(f"text training, engine ÷ plain PyTorch loop (BiLSTM 100/128, {n(s['n'])} SST-2 rows, "
            f"{s['threads']} thread, {s['repeats']} repeats)", f"{n(sps['engine'])} samples/s",
            f"plain loop {n(sps['plain'])} samples/s", n(ratio.get("engine")), f"≥ {s['target']}", verdict(s["passed"]))]
    if "engine_nobucket" in ratio:
        out.append(("the same, engine without length bucketing", f"{n(sps['engine_nobucket'])} samples/s",
                    "plain loop", n(ratio["engine_nobucket"]), "", ""))
    return out


def digits_cnn(rows):
    s = _summary(rows)
    return [("image training, engine ÷ plain DataLoader loop (default CNN, built-in digits)",
             f"{n(s['engine_images_per_s'])} images/s", f"plain loop {n(s['plain_images_per_s'])} images/s",
             n(s["images_per_s_ratio"]), "≥ 1.0", verdict(s["images_per_s_ratio"] >= 1.0)),
            (f"digits: time from Train to 0.98 test accuracy ({s['reached']} of {s['repeats']} reached)",
             f"{n(s['median_seconds_to_target'])} s (final accuracy {n(s['median_final_test_accuracy'], 3)})",
             "", "", "≤ 10 s", verdict(s["median_seconds_to_target"] is not None
                                       and s["median_seconds_to_target"] <= 10.0))]


def browser_overhead(rows):
    s = _summary(rows)
    sps = s["samples_per_s_last_epoch"]
    return [(f"training with the Train page open in Chromium ÷ headless ({s['pairs']} pair(s))",
             f"{n(sps['browser'])} samples/s", f"headless {n(sps['headless'])} samples/s", n(s["ratio"]),
             f"≥ {s['target']}", verdict(s["passed"]))]


def ddp_speed(rows):
    s = _summary(rows)
    sps = s["samples_per_s"]
    return [(f"DDP, 2 processes ÷ 1 process ({s['model']}, {s['spec']}, {s['epochs']} epochs; whole command "
             f"{n(s['wall_ratio'])}×)", f"{n(sps['2'])} samples/s", f"1 process {n(sps['1'])} samples/s",
             n(s["ratio"]), "", ""),
            ("DDP loss parity: largest per-epoch train_loss difference, 2 vs 1 process",
             f"{s['max_train_loss_diff']:.1e}", "1 process", "", f"≤ {s['tolerance']:.0e}", verdict(s["parity"]))]


def lime_speed(rows):
    s = _summary(rows)
    out = []
    for model, r in s["models"].items():
        med = r["median_s"]
        for threads in ("default", "1thread"):
            a, b = med.get(f"engine_{threads}@1000"), med.get(f"engine_{threads}@5000")
            if a is None and b is None:
                continue
            ok = [r["passed"].get(f"engine_{threads}@{k}") for k in (1000, 5000)]
            label = "default threads" if threads == "default" else "1 thread"
            out.append((f"LIME 1,000 / 5,000 samples ({model} LSTM, {label}, {s['sentences']} SST-2 sentences)",
                        f"{n(a, 3)} / {n(b, 3)} s", "", "", "≤ 0.08 / 0.4 s",
                        " / ".join(verdict(o) for o in ok)))
        if "predict_ms" in r:
            p = r["predict_ms"]
            out.append((f"predict one sentence ({model} LSTM; default threads / 1 thread)",
                        f"{n(p.get('default'))} / {n(p.get('1thread'))} ms", "", "", "reported", ""))
    return out


def cold_start(rows):
    s = _summary(rows)
    return [(f"app cold start: `streamlit run` → home page title in Chromium ({s['trials']} trial(s); whole page "
             f"{n(s['full_s'])} s, second visit {n(s['second_visit_title_s'])} s)", f"{n(s['title_s'])} s",
             f"server health answers {n(s['health_s'])} s", n(s["ratio"]), "reported", "")]


def classroom(rows):
    s = _summary(rows)
    out = []
    if "memory" in s:
        m = s["memory"]
        kids = m["most_training_children"]
        epochs = f"{m['epochs']} epoch" + ("s" if m["epochs"] != 1 else "")
        out.append((f"peak memory, server + children, 3 jobs training at once ({epochs} each; "
                    f"{kids['three']} training children seen)", f"{n(m['peak_rss_mb']['three'])} MB",
                    f"1 job: {n(m['peak_rss_mb']['one'])} MB", n(m["three_over_one"]), "reported", ""))
    if "a" in s:
        a = s["a"]
        out.append(("classroom: N sessions press Run the demo, last finished ÷ one session",
                    "", f"one session {n(a['single_s'])} s", n(a["shared_over_single"]), "", ""))
        out.append(("peak memory, N shared demo sessions ÷ one session", f"{n(a['peak_rss_mb']['shared'])} MB",
                    f"{n(a['peak_rss_mb']['single'])} MB", n(a["shared_peak_rss_over_single"]), "bounded", ""))
    if "b" in s:
        worst = max((v, k) for k, v in s["b"].items() if k.endswith("_over_idle"))
        out.append(("slowest page rerun while another user's long step runs ÷ idle", worst[1], "idle rerun",
                    n(worst[0]), "no freeze", ""))
    if "preset" in s:
        p = s["preset"]
        out.append(("demo preset training time ÷ the previous demo", f"{n(p['demo_s'])} s",
                    f"previous {n(p['before_s'])} s", n(p["demo_over_before_s"]), "", ""))
    return out


def sst2_accuracy(rows):
    s = _summary(rows)
    out = [(f"SST-2 time to 0.82 dev accuracy (fastest: {s['fastest_to_target'] or 'none'}; 1 thread)",
            f"{n(s['seconds_to_target'], 1)} s", "", "", "reported", "reached" if s["passed"] else "never")]
    if not s.get("stop_at_target"):  # stopped at 0.82, the best accuracy says nothing
        out.append((f"SST-2 best dev accuracy ({s['best_model']})", n(s["best_dev_accuracy"], 3), "", "", "", ""))
    return out


def pretrained_sst2(rows):
    s = _summary(rows)
    out = [(f"SST-2 dev acc., MiniLM-L6 fine-tuned vs the LSTM, {n(r['rows'])} rows", n(r["minilm"], 3),
            f"LSTM {n(r['lstm'], 3)}", f"{r['points']:+.1f} points", "", "") for r in s["by_rows"]]
    out.append(("MiniLM ÷ LSTM: time per example / predict one sentence / LIME 1,000",
                f"{n(s['by_rows'][0]['time_per_example_ratio'], 1)}× / {n(s['predict_latency_ratio'], 1)}× / "
                f"{n(s['lime_ratio'], 1)}×", "LSTM", "", "reported", ""))
    return out


def optimize_sst2(rows):
    s = _summary(rows)
    out = [("int8 quantization: file size ÷ fp32 (without the fp32 embedding)",
            f"{n(s['int8_size_ratio'])} ({n(s['int8_size_ratio_without_embedding'])})", "the fp32 run",
            n(s["int8_size_ratio"]), "", ""),
           ("dev accuracy drop: int8 / pruned 50 % / pruned + 1 epoch fine-tuning",
            f"{n(s['int8_drop_points'])} / {n(s['pruned_drop_points'])} / {n(s['pruned_finetuned_drop_points'])} points",
            "the fp32 run", "", "", ""),
           ("int8 latency ÷ fp32, batch 1", "", "the fp32 run", n(s["int8_latency_ratio"]), "", "")]
    if "share_of_gap_closed" in s:
        out.append(("distillation: LSTM student, share of its gap to the MiniLM teacher closed",
                    f"dev {n(s['student_distilled_dev'], 3)}", f"alone {n(s['student_alone_dev'], 3)}, "
                    f"teacher {n(s['teacher_dev'], 3)}", n(s["share_of_gap_closed"]), "≥ 0.5",
                    verdict(s["within_half_of_the_gap"])))
    return out


def onnx_speed(rows):
    s = _summary(rows)
    lat = {(r["level"], r["batch"]): r for r in rows if r.get("kind") == "latency"}
    out = []
    for (level, batch), r in sorted(lat.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        what = "model call" if level == "model" else "whole predictor"
        target = f"≤ {s['target_b1']}" if (level, batch) == ("model", 1) else ""
        out.append((f"ONNX: onnxruntime ÷ PyTorch latency, {what}, batch {batch}",
                    f"{n(r['onnxruntime']['median_ms'], 3)} ms", f"PyTorch {n(r['pytorch']['median_ms'], 3)} ms",
                    n(r["ratio"]), target, verdict(s["passed"]) if target else ""))
    return out


def rest_speed(rows):
    s = _summary(rows)
    out = []
    for backend, levels in s["rest_rps"].items():
        for clients, rps in levels.items():
            out.append((f"REST requests/s at batch 1, {backend}, {clients} client(s) at once "
                        f"(server start {n(s['startup_s'][backend], 1)} s)", f"{n(rps, 0)}/s",
                        f"in-process predictor {n(s['inprocess_rps'], 0)}/s", n(rps / s["inprocess_rps"]), "", ""))
    out.append(("predict one sentence in-process (the REST reference, p50)", f"{n(s['inprocess_p50_ms'], 3)} ms",
                "", "", "reported", ""))
    return out


def sst2_word2vec(rows):
    s = _summary(rows)
    return [(f"SST-2 lstm preset, {v}: best dev acc. / seconds to 0.82", f"{n(r['best_dev_accuracy']['mean'], 3)} / "
             f"{n(r['seconds_to_target']['mean'], 1)} s", "random init" if v != "random" else "", "", "", "")
            for v, r in s["per_variant"].items()]


def embeddings_speed(rows):
    s = _summary(rows)
    return [("Word2Vec words/s, engine ÷ plain gensim (skip-gram / CBOW)",
             f"{n(s['skipgram_words_per_s'])} / {n(s['cbow_words_per_s'])}",
             f"gensim {n(s['skipgram_plain_words_per_s'])} / {n(s['cbow_plain_words_per_s'])}",
             f"{n(s['skipgram_ratio'])} / {n(s['cbow_ratio'])}", "≥ 0.9", ""),
            (f"word map of {n(s['pca_2d_words'])} words: PCA / t-SNE 2-D", f"{n(s['pca_2d_seconds'], 3)} / "
             f"{n(s['tsne_2d_seconds'], 1)} s", "scikit-learn alone", f"{n(s['pca_2d_ratio'])} / {n(s['tsne_2d_ratio'])}",
             "", "")]


def sst2_small(rows):
    s = _summary(rows)
    return [(f"small-data SST-2: text models with defaults, mean dev acc. ({s['models_at_or_above_reference']} "
             f"of {len(s['per_model'])} at or above the reference)", n(s["mean_dev_accuracy"], 3),
             f"TF-IDF + LR {n(s['reference_dev_accuracy'], 3)}", "", "≥ reference", "")]


def images_28(rows):
    out = []
    for r in rows:
        if r.get("bench") == "images_summary":
            out.append((f"images: {r['model']} on {r['set']}, median test acc. ({r['runs']} seed(s))",
                        n(r["median_test_accuracy"], 3), "", "", "", ""))
    return out


def logging_overhead(rows):
    s = _summary(rows)
    return [("run store: training time with per-epoch records + checkpoints ÷ logging off",
             f"writes {n(s['writes_pct_median'])} % of training time", f"logging off {n(s['logging_off_median_s'])} s",
             n(s["ratio_median"], 3), f"< {s['target_pct']} %", verdict(s["writes_pct_median"] < s["target_pct"]))]


def scaling_sst2(rows):
    s = _summary(rows)
    fit = s.get("fit") or {}
    return [(f"SST-2 LSTM width sweep, fitted exponent b ({s['sizes'].count(',') + 1} sizes, "
             f"{n(s['param_span'], 0)}× parameters)", f"{n(fit.get('b'))} ± {n(fit.get('b_stderr'))}", "", "",
             "reported", "")]


def lesson_overhead(rows):
    norms = next((r for r in rows if r.get("kind") == "summary_norms"), {})
    pages = next((r for r in rows if r.get("kind") == "summary_pages"), {})
    sps, secs = norms.get("samples_per_s", {}), pages.get("seconds", {})
    return [(f"training with per-layer gradient norms ÷ without ({norms.get('pairs')} pair(s), LSTM, "
             f"{n(norms.get('rows'))} rows)", f"{n(sps.get('measured'))} samples/s", f"off {n(sps.get('off'))} samples/s",
             n(norms.get("ratio"), 3), f"≥ {norms.get('target')}", verdict(norms.get("passed"))),
            (f"a page drawn in Chinese ÷ in English (AppTest, {pages.get('pages')} pages)",
             f"{n(secs.get('zh-CN'), 3)} s", f"English {n(secs.get('en'), 3)} s", n(pages.get("ratio"), 3),
             f"≤ {pages.get('target')}", verdict(pages.get("passed")))]


FIGURES: dict[str, Callable[[list[dict]], list[Row]]] = {
    b.name: globals()[b.name] for b in SUITE if b.name in globals()}
