"""The Runs page: the table, comparing runs, renaming, tagging, deleting, sharing as a .zip, damaged and interrupted runs."""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from apphelpers import SMALL_DATA, SMALL_MODEL, charts, texts
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "pages/7_Runs.py"


def open_runs(**session) -> AppTest:
    """The Runs page, opened as a user would: the home page first, then the page."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    for key, value in session.items():
        at.session_state[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest):
    return at.dataframe[0].value


def train(workspace, name: str, epochs: int = 2, lr: float = 1e-3, callbacks=(), sweep=None):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    cfg = RunConfig(DataConfig(**SMALL_DATA), ModelConfig(SMALL_MODEL["name"], dict(SMALL_MODEL["params"])),
                    TrainConfig(epochs=epochs, batch_size=32, lr=lr), name=name, sweep=sweep)
    return train_run(cfg, callbacks=callbacks, home=workspace)


def listing(workspace: Path) -> list[str]:
    """Everything under the workspace's runs/ folder, hidden files included."""
    root = workspace / "runs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_an_empty_workspace_points_to_the_train_page():
    at = open_runs()
    assert any("no saved runs yet" in t for t in texts(at.info))
    assert [link.proto.page for link in at.main.get("page_link")] == ["Train"]
    assert not at.dataframe
    assert at.file_uploader(key="runs_import_file")  # a run someone sent can still be imported


def test_the_table_lists_every_run_with_its_model_and_status(trained_run):
    for name in ("first", "second", "third"):
        trained_run(name)
    df = table(open_runs())
    assert sorted(df["name"]) == ["first", "second", "third"]
    assert set(df["model"]) == {"lstm"} and set(df["status"]) == {"finished"}
    assert set(df["data"]) == {"builtin:synthetic_reviews"}
    assert df["parameters"].gt(0).all() and df["val accuracy"].between(0, 1).all()


def test_the_filters_narrow_the_table(trained_run):
    trained_run("alpha")
    trained_run("beta")
    at = open_runs()
    at.text_input(key="runs_search").set_value("ALP").run()
    assert list(table(at)["name"]) == ["alpha"]
    at.text_input(key="runs_search").set_value("nothing like it").run()
    assert not at.dataframe and any("No run matches" in t for t in texts(at.info))
    at.text_input(key="runs_search").set_value("").run()
    at.multiselect(key="runs_status").set_value(["finished"]).run()
    assert len(table(at)) == 2


def test_sweep_runs_show_their_sweep_and_sit_together(workspace):
    # trained in id order, so newest-first is c, b, a whether or not they share a second of `created`
    for i, name in enumerate(["a-point", "b-solo", "c-point"]):
        sweep = {"id": "sweep-abc", "axis": "size", "point": name, "index": i, "value": i} if "point" in name else None
        train(workspace, name, epochs=1, sweep=sweep)
    df = table(open_runs())
    assert list(df["name"]) == ["c-point", "a-point", "b-solo"]
    assert list(df["sweep"]) == ["sweep-abc", "sweep-abc", ""]


def test_two_picked_runs_overlay_their_curves_and_the_diff_shows_only_what_differs(workspace):
    train(workspace, "slow", lr=1e-3)
    train(workspace, "fast", lr=1e-2)
    at = open_runs()
    at.multiselect(key="runs_compare").set_value(["slow"]).run()
    assert "Pick 2 to 6 runs to compare" in " ".join(texts(at.info))
    assert "runs_overlay_chart" not in charts(at)
    at.multiselect(key="runs_compare").set_value(["slow", "fast"]).run()
    assert not at.exception
    traces = charts(at)["runs_overlay_chart"]["data"]
    assert sorted(t["name"] for t in traces) == ["fast", "slow"]
    assert all(len(t["x"]) == 2 and len(t["y"]) == 2 for t in traces)
    diff = at.dataframe[1].value
    assert list(diff["setting"]) == ["train.lr"]
    assert sorted(diff.iloc[0, 1:]) == ["0.001", "0.01"]
    at.radio(key="runs_x").set_value("wall").run()
    at.checkbox(key="runs_log").check().run()
    figure = charts(at)["runs_overlay_chart"]
    assert figure["layout"]["yaxis"]["type"] == "log" and "time" in figure["layout"]["xaxis"]["title"]["text"]


def set_metrics(workspace: Path, run: str, **metrics) -> None:
    """Give a run chosen final figures (written into its run.json, then the index rebuilt)."""
    from bigmodel_core.runs import reindex

    path = workspace / "runs" / run / "run.json"
    record = json.loads(path.read_text())
    record["metrics"].update(metrics)
    path.write_text(json.dumps(record))
    reindex()


def test_best_run_badges_name_the_best_run(trained_run, workspace):
    trained_run("one")
    trained_run("two")
    set_metrics(workspace, "one", val_accuracy=0.6, val_loss=0.5)
    set_metrics(workspace, "two", val_accuracy=0.9, val_loss=0.7)
    at = open_runs(runs_compare=["one", "two"])
    lines = sorted(t for t in texts(at.markdown) if t.startswith("🏆"))
    assert lines[0].startswith("🏆 **one**") and "lowest validation loss" in lines[0]
    assert lines[1].startswith("🏆 **two**") and "best validation accuracy" in lines[1]
    assert "smallest" not in " ".join(lines)  # both have the same size: neither is "smallest"
    df = table(at).set_index("name")
    assert "best validation accuracy" in df.loc["two", "best at"]
    assert "best validation accuracy" not in df.loc["one", "best at"]


def test_renaming_a_run_changes_its_shown_name(trained_run):
    trained_run("plain-id")
    at = open_runs()
    at.text_input(key="runs_rename").set_value("My best model").run()
    at.button(key="runs_rename_btn").click().run()
    assert not at.exception
    assert any("My best model" in t for t in texts(at.success))
    assert list(table(at)["name"]) == ["My best model"] and list(table(at)["id"]) == ["plain-id"]
    assert at.selectbox(key="runs_manage").value == "plain-id"


def test_tags_are_saved_and_filter_the_table(trained_run):
    from bigmodel_core.runs import read_run

    trained_run("tagged")
    trained_run("untagged")
    at = open_runs()
    at.selectbox(key="runs_manage").set_value("tagged").run()
    at.text_input(key="runs_tags").set_value(" baseline , lab 2,, baseline").run()
    at.button(key="runs_tags_btn").click().run()
    assert read_run("tagged").tags == ["baseline", "lab 2"]
    assert at.text_input(key="runs_tags").value == "baseline, lab 2"
    at.multiselect(key="runs_tags_filter").set_value(["lab 2"]).run()
    assert list(table(at)["name"]) == ["tagged"]


def test_deleting_needs_a_confirmation_and_removes_the_run(trained_run, workspace):
    trained_run("keep-me")
    trained_run("drop-me")
    at = open_runs()
    at.selectbox(key="runs_manage").set_value("drop-me").run()
    at.button(key="runs_delete").click().run()
    assert any("Tick" in t for t in texts(at.warning))
    assert (workspace / "runs" / "drop-me").is_dir()
    at.checkbox(key="runs_delete_confirm").check().run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert any("Deleted the run 'drop-me'" in t for t in texts(at.success))
    assert not (workspace / "runs" / "drop-me").exists()
    assert list(table(at)["name"]) == ["keep-me"] and at.selectbox(key="runs_manage").options == ["keep-me"]
    assert at.checkbox(key="runs_delete_confirm").value is False


def test_deleting_the_last_run_leaves_the_empty_page(trained_run):
    trained_run("only")
    at = open_runs(runs_compare=["only"])
    at.checkbox(key="runs_delete_confirm").check().run()
    at.button(key="runs_delete").click().run()
    assert not at.exception
    assert any("Deleted the run 'only'" in t for t in texts(at.success))
    assert any("no saved runs yet" in t for t in texts(at.info))


def test_a_zip_exported_from_another_workspace_imports_here(trained_run, workspace, tmp_path, monkeypatch):
    from bigmodel_core.runs import export_zip, read_run

    trained_run("shared-run", epochs=2)
    data = export_zip("shared-run")
    other = tmp_path / "other-home"
    other.mkdir()
    monkeypatch.setenv("BIGMODEL_HOME", str(other))
    at = open_runs()
    at.file_uploader(key="runs_import_file").set_value(("shared-run.zip", data, "application/zip")).run()
    at.button(key="runs_import").click().run()
    assert not at.exception
    assert any("Imported the run 'shared-run'" in t for t in texts(at.success))
    assert list(table(at)["name"]) == ["shared-run"]
    assert read_run("shared-run").metrics == read_run("shared-run", home=workspace).metrics
    at.button(key="runs_import").click().run()  # the same zip again: a second copy under a free id
    assert sorted(table(at)["id"]) == ["shared-run", "shared-run-2"]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _with(extra: dict[str, bytes]):
    """A real run's zip plus `extra` members."""
    def make() -> bytes:
        from bigmodel_core.runs import export_zip

        with zipfile.ZipFile(io.BytesIO(export_zip("good"))) as zf:
            members = {i.filename: zf.read(i) for i in zf.infolist()}
        return _zip({**members, **extra})
    return make


BAD_ZIPS = {
    "random-bytes": (lambda: os.urandom(2048), "not a readable .zip"),
    "extra-python-file": (_with({"good/evil.py": b"import os\nos.system('echo pwned')\n"}), "a file a run does not have"),
    "path-outside": (_with({"../x": b"escape"}), "a path outside the run"),
    "not-a-run": (lambda: _zip({"run.json": json.dumps({"hello": 1}).encode()}), "no weights.safetensors"),
}


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_a_bad_zip_shows_a_plain_error_and_leaves_the_workspace_unchanged(trained_run, workspace, case):
    trained_run("good")
    make, why = BAD_ZIPS[case]
    data = make()
    before = listing(workspace)
    at = open_runs()
    at.file_uploader(key="runs_import_file").set_value((f"{case}.zip", data, "application/zip")).run()
    at.button(key="runs_import").click().run()
    assert not at.exception
    [error] = texts(at.error)
    assert error.startswith("This file is not a BigModel Lab run") and why in error
    assert not at.expander  # a plain message, no traceback
    assert listing(workspace) == before
    assert list(table(at)["name"]) == ["good"]


def test_import_without_a_file_asks_for_one(trained_run):
    trained_run("good")
    at = open_runs()
    at.button(key="runs_import").click().run()
    assert any("Choose a run's .zip" in t for t in texts(at.warning))


def test_a_damaged_run_is_named_in_a_warning_and_the_others_are_listed(trained_run, workspace):
    from bigmodel_core.runs import reindex

    trained_run("fine")
    trained_run("broken")
    (workspace / "runs" / "broken" / "run.json").write_bytes(b"\x89garbage{")
    reindex()
    at = open_runs()
    [warning] = texts(at.warning)
    assert "'broken'" in warning and "damaged" in warning
    assert list(table(at)["name"]) == ["fine"]
    assert at.selectbox(key="runs_manage").options == ["fine"]


def test_tensorboard_export_shows_the_folder_and_the_command(trained_run, workspace):
    trained_run("curves", epochs=2)
    at = open_runs()
    at.button(key="runs_tensorboard").click().run()
    assert not at.exception
    folder = workspace / "tensorboard" / "curves"
    assert any(p.name.startswith("events.out.tfevents") for p in folder.iterdir())
    assert [c.value for c in at.code] == [f'tensorboard --logdir "{folder}"']


def test_the_run_can_be_downloaded_as_a_zip(trained_run):
    trained_run("to-share")
    at = open_runs()
    assert at.download_button(key="runs_download").label.startswith("⬇️ Download run")
    assert at.download_button(key="runs_download").proto.url or at.download_button(key="runs_download").proto.deferred_file_id


def interrupt_at(epoch: int):
    """A callback that stands in for Ctrl-C when `epoch` starts (its checkpoint of the epoch before is kept)."""
    from bigmodel_core.training.events import Callback

    class Interrupt(Callback):
        def on_epoch_start(self, trainer, event) -> None:
            if event.epoch == epoch:
                raise KeyboardInterrupt

    return Interrupt()


def test_an_interrupted_run_shows_resume_and_resuming_trains_it_to_the_end(workspace, poll):
    from bigmodel_core.runs import read_run
    from ui import state

    with pytest.raises(KeyboardInterrupt):
        train(workspace, "cut-off", epochs=3, callbacks=[interrupt_at(2)])
    assert read_run("cut-off").status == "interrupted"
    done_before = read_run("cut-off").epochs_done
    at = open_runs()
    assert list(table(at)["status"]) == ["interrupted"]
    assert any("interrupted" in t for t in texts(at.caption))
    at.button(key="runs_resume").click().run()
    assert not at.exception
    job_id = at.session_state["train_job"]
    assert any("Training goes on" in t for t in texts(at.success))
    poll(at, lambda _: state.job_manager().get(job_id).finished, timeout=120)
    info = read_run("cut-off")
    assert info.status == "finished" and info.epochs_done == 3 > done_before
    at.run()
    assert list(table(at)["status"]) == ["finished"]
    assert "runs_resume" not in [b.key for b in at.button]


def test_small_vs_big_says_what_the_bigger_model_bought_and_times_a_prediction(workspace):
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    for name, size in (("tiny-lstm", 4), ("wide-lstm", 32)):
        train_run(RunConfig(DataConfig(**SMALL_DATA), ModelConfig("lstm", {"embed_dim": size, "hidden": size}),
                            TrainConfig(epochs=2, batch_size=32), name=name), home=workspace)
    at = open_runs()
    at.multiselect(key="runs_compare").set_value(["tiny-lstm", "wide-lstm"]).run()
    assert not at.exception
    sentence = next(t for t in texts(at.markdown) if "points of test accuracy" in t)
    assert sentence.startswith("wide-lstm (lstm) gives") and "over tiny-lstm (lstm)" in sentence
    assert "× the parameters" in sentence
    rows = next(df.value for df in at.dataframe if "predict ms (one sentence)" in df.value.columns)
    assert list(rows["name"]) == ["tiny-lstm", "wide-lstm"]  # smallest first
    assert all(0 < ms < 5000 for ms in rows["predict ms (one sentence)"])
