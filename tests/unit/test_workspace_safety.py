"""The workspace is never escaped, damaged runs are reported and skipped, and killed processes leave nothing for good."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bigmodel_core.__main__ import main
from bigmodel_core.errors import BigModelError, ConfigError, RunError
from bigmodel_core.runs import workspace
from bigmodel_core.runs.store import RunWriter, delete_run, list_runs, read_run, runs_dir, scan_runs
from bigmodel_core.serve.bundle import load_bundle

ROOT = Path(__file__).resolve().parents[2]


def tree(folder: Path) -> list[str]:
    """Every path under `folder`, relative, sorted: a snapshot to compare before and after."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --- names and paths ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../victim", "../../../victim", "a/b", "/etc", ".hidden", "..", ".", "",
                                  "x" * 101, "tab\tname", "naïve", "C:\\x", "a\x00b"])
def test_unsafe_names_are_refused_with_a_plain_message(name):
    with pytest.raises(ConfigError) as err:
        workspace.check_name(name, "run name")
    assert "run name" in err.value.message and "letters, digits" in err.value.hint


@pytest.mark.parametrize("name", ["lstm-small_2", "run.v2", "_x", "2026-01-01-lstm", "a" * 100])
def test_safe_names_are_kept_as_they_are(name):
    assert workspace.check_name(name) == name


def test_a_path_built_outside_the_workspace_is_refused(tmp_path):
    (tmp_path / "home").mkdir()
    os.symlink(tmp_path, tmp_path / "home" / "link")
    for parts in (("..", "x"), ("/etc",), ("link", "x")):
        with pytest.raises(RunError, match="outside the workspace"):
            workspace.inside(tmp_path / "home", *parts)
    assert workspace.inside(tmp_path / "home", "runs") == (tmp_path / "home" / "runs").resolve()


def test_a_run_name_that_climbs_out_deletes_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """The reported case: BIGMODEL_HOME=/x/A/B/home, --name ../../../victim, and an unrelated /x/victim."""
    home = tmp_path / "A" / "B" / "home"
    home.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (tmp_path / ".tmp-victim").mkdir()
    monkeypatch.setenv("BIGMODEL_HOME", str(home))
    before = tree(tmp_path)
    for name in ("../../../victim", "../../victim", "../.tmp-victim", "/tmp/victim"):
        code = main(["train", "--data", "builtin:synthetic_reviews", "--model", "bag_of_embeddings",
                     "--name", name, "--dry-run"])
        err = capsys.readouterr().err
        assert code == 2 and "cannot be used as a run name" in err and "Traceback" not in err
    assert tree(tmp_path) == before
    assert (victim / "precious.txt").read_text() == "keep me"


def test_run_writer_refuses_an_unsafe_id_before_creating_anything(isolated_home):
    with pytest.raises(ConfigError):
        RunWriter("../escape", isolated_home)
    assert not (isolated_home.parent / "escape").exists() and not (isolated_home.parent / ".tmp-escape").exists()


def test_delete_refuses_a_run_folder_outside_the_workspace(own_copy_of_run, tmp_path):
    outside = tmp_path / "elsewhere" / "a-run"
    outside.mkdir(parents=True)
    (outside / "run.json").write_text((own_copy_of_run / "run.json").read_text())
    with pytest.raises(RunError, match="not a run of this workspace"):
        delete_run(outside)
    assert outside.exists()
    with pytest.raises(ConfigError):
        delete_run("../" + own_copy_of_run.name)
    delete_run(own_copy_of_run.name)
    assert not own_copy_of_run.exists()


# --- damaged runs ---------------------------------------------------------------------------------
DAMAGE = {"random bytes": b"\x89\xfe\x00\xffgarbage\x80", "a list": b"[]", "null": b"null", "an empty object": b"{}",
          "half a file": b'{"id": "x", "config": {', "wrong types": b'{"id": 3, "config": [], "data_info": {}}',
          "no classes": b'{"id": "x", "config": {"model": {"name": "lstm"}}, "data_info": {"class_names": []}, '
                        b'"model_params": {}}'}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_run_is_reported_once_and_the_others_keep_working(own_copy_of_run, isolated_home, damage):
    bad = isolated_home / "runs" / "zz-damaged"
    bad.mkdir()
    (bad / "run.json").write_bytes(DAMAGE[damage])
    runs, damaged = scan_runs()
    assert [r.id for r in runs] == [own_copy_of_run.name]
    assert [d["id"] for d in damaged] == ["zz-damaged"]
    assert "is damaged" in damaged[0]["message"] and "Delete it" in damaged[0]["hint"]
    assert [r.id for r in list_runs()] == [own_copy_of_run.name]
    with pytest.raises(RunError, match="damaged"):
        read_run("zz-damaged")
    with pytest.raises(RunError, match="damaged"):
        load_bundle("zz-damaged")
    load_bundle(own_copy_of_run.name).predict_proba(["a good film"])


def test_cli_on_a_damaged_run_prints_a_plain_error_with_exit_code_2(isolated_home, capsys):
    bad = runs_dir() / "broken"
    bad.mkdir()
    (bad / "run.json").write_bytes(b"\xff\xfe\x00\x01")
    for command in (["predict", "--text", "hi"], ["explain", "--text", "hi"], ["eval", "--data", "builtin:synthetic_reviews"]):
        code = main([command[0], "--run", "broken", *command[1:]])
        err = capsys.readouterr().err
        assert code == 2 and "The run 'broken' is damaged" in err and "Traceback" not in err


def test_damaged_weights_are_a_plain_error(own_copy_of_run):
    (own_copy_of_run / "weights.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(RunError, match="could not be loaded"):
        load_bundle(own_copy_of_run.name)


# --- leftovers --------------------------------------------------------------------------------------
def test_a_temp_folder_of_a_dead_process_is_swept_and_a_live_ones_is_kept(isolated_home):
    runs = runs_dir()
    dead = runs / ".tmp-dead"
    dead.mkdir()
    (dead / workspace.OWNER_FILE).write_text(json.dumps({"pid": 2**22 + 17, "host": os.uname().nodename}))
    alive = runs / ".tmp-alive"
    alive.mkdir()
    workspace.stamp_owner(alive)
    orphan = runs / ".tmp-orphan"  # no owner stamp: kept until it is an hour old
    orphan.mkdir()
    young = workspace.sweep(runs)
    assert young == []  # the dead owner's folder is only seconds old: its last write may still land
    later = time.time() + workspace.DEAD_OWNER_AGE_S + 1
    assert workspace.sweep(runs, now=later) == [".tmp-dead"]
    assert workspace.sweep(runs, now=later + workspace.ORPHAN_AGE_S) == [".tmp-orphan"]
    assert alive.exists()


def test_a_run_name_being_saved_by_a_live_process_is_not_taken_over(isolated_home):
    first = RunWriter("same-name", isolated_home)
    with pytest.raises(RunError, match="being saved right now"):
        RunWriter("same-name", isolated_home)
    first.discard()
    RunWriter("same-name", isolated_home).discard()


def _train_process(home: Path, name: str) -> subprocess.Popen:
    """A CLI training run slow enough to be killed in the middle of an epoch."""
    env = {**os.environ, "BIGMODEL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "bigmodel_core", "train", "--data", "builtin:synthetic_reviews", "--model", "lstm",
         "--set", "batch_size=8", "--set", "max_rows=3000", "--epochs", "50", "--name", name, "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_batches(proc: subprocess.Popen) -> None:
    for line in proc.stdout:  # blocks until the trainer reports; the process's own signal, no fixed sleep
        if '"event": "batch_end"' in line:
            return
    raise AssertionError("training ended before its first batch: " + proc.stderr.read())


def test_sigkill_before_the_first_epoch_ends_leaves_no_run_once_the_next_start_looks(tmp_path):
    home = tmp_path / "home"
    proc = _train_process(home, "killed")
    try:
        _wait_for_batches(proc)
        proc.kill()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    runs = home / "runs"
    assert [p.name for p in runs.iterdir()] == ["killed"]  # the run existed from its first batch ...
    assert read_run("killed", home).status == "running"
    assert list_runs(home) == []  # ... but it had no checkpoint yet: the next listing finds nothing to keep
    assert [p.name for p in runs.iterdir()] == []


def test_sigterm_stops_training_like_ctrl_c_and_leaves_nothing(tmp_path):
    home = tmp_path / "home"
    proc = _train_process(home, "terminated")
    try:
        _wait_for_batches(proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Stopped by SIGTERM" in err and "Traceback" not in err
    assert tree(home / "runs") == []


def test_the_sweep_ignores_plain_files_and_links(isolated_home, tmp_path):
    runs = runs_dir()
    (runs / ".tmp-a-file").write_text("not a folder")
    os.symlink(tmp_path, runs / ".tmp-link")
    assert workspace.sweep(runs, now=time.time() + 10 * workspace.ORPHAN_AGE_S) == []
    assert tmp_path.exists()


def test_unexpected_errors_in_the_cli_are_one_plain_line(monkeypatch, capsys):
    import bigmodel_core.__main__ as cli

    def boom(args):
        raise ValueError("something internal")

    monkeypatch.setattr(cli, "cmd_datasets", boom)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_fn(parser(), boom))
    code = main(["datasets"])
    err = capsys.readouterr().err
    assert code == 1 and "Something unexpected went wrong" in err and "Traceback" not in err


def _with_fn(parser, fn):
    parser._subparsers._group_actions[0].choices["datasets"].set_defaults(fn=fn)
    return parser


def test_errors_are_bigmodel_errors_with_a_hint():
    with pytest.raises(BigModelError) as err:
        workspace.check_name("../x")
    assert err.value.message.endswith(".") and err.value.hint


def test_kill_9_of_the_apps_training_child_in_its_first_epoch_fails_the_job_and_keeps_nothing(reviews_csv, small_run_config,
                                                                                 isolated_home):
    import multiprocessing

    from bigmodel_core.errors import TrainingError
    from bigmodel_core.training.events import Callback
    from bigmodel_core.training.process_runner import run_in_process

    class KillChild(Callback):
        def on_batch_end(self, trainer, event):
            for child in multiprocessing.active_children():
                if child.name == "bigmodel-train":
                    os.kill(child.pid, signal.SIGKILL)

    cfg = small_run_config(f"csv:{reviews_csv(400)}", model="lstm", epochs=20, batch_size=4, name="child-run")
    with pytest.raises(TrainingError, match="ended without a result"):
        run_in_process(cfg, [KillChild()], home=isolated_home)
    assert tree(isolated_home / "runs") == []


def test_a_temp_folder_that_is_a_link_is_never_followed(isolated_home):
    runs = runs_dir()
    other = runs / "other-run"
    other.mkdir()
    (other / "run.json").write_text("{}")
    os.symlink(other, runs / ".tmp-new-run")
    with pytest.raises(RunError, match="being saved"):
        RunWriter("new-run", isolated_home)
    assert (other / "run.json").exists()
    with pytest.raises(RunError):
        workspace.inside(runs, ".")  # a part that resolves to the folder itself is not inside it


def test_a_training_run_without_a_validation_split_is_saved(reviews_csv, small_run_config, isolated_home):
    from bigmodel_core.training.run import train_run

    cfg = small_run_config(f"csv:{reviews_csv()}", epochs=1)
    cfg.data.val_fraction = 0.0
    info = train_run(cfg)
    assert info.metrics["val_accuracy"] is None and info.misclassified == []
    assert load_bundle(info.id).predict_proba(["a good film"]).shape == (1, 2)
