"""The run store: the SQLite index over the run folders, written by several processes, rebuilt when lost."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from bigmodel_core.errors import RunError
from bigmodel_core.runs import index
from bigmodel_core.runs.store import delete_run, list_runs, read_run, reindex, run_epochs, scan_runs, update_run
from bigmodel_core.training.events import Callback
from bigmodel_core.training.run import train_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_run(reviews_csv, small_run_config, isolated_home):
    """make_run(name) trains a tiny run (well under a second) in this test's workspace."""
    spec = f"csv:{reviews_csv()}"

    def make(name: str, epochs: int = 2):
        return train_run(small_run_config(spec, name=name, epochs=epochs), home=isolated_home)

    return make


def forget_index_in_this_process() -> None:
    """As if this were a new process: the next use opens (and checks) the database afresh."""
    index._ready.clear()


def test_a_run_is_in_the_list_as_running_from_its_first_batch(reviews_csv, small_run_config, isolated_home):
    seen = []

    class Look(Callback):
        def on_batch_end(self, trainer, event):
            if not seen:
                seen.append({r.id: r.status for r in list_runs(isolated_home)})

    cfg = small_run_config(f"csv:{reviews_csv()}", name="watched", epochs=1)
    info = train_run(cfg, [Look()], home=isolated_home)
    assert seen == [{"watched": "running"}]
    assert {r.id: r.status for r in list_runs(isolated_home)} == {"watched": "finished"}
    assert info.parameters and info.parameters > 0 and info.examples_seen > 0


def test_every_epoch_is_in_the_index_with_its_step_and_time(reviews_csv, small_run_config, isolated_home):
    info = train_run(small_run_config(f"csv:{reviews_csv()}", name="curves", epochs=3, early_stopping_patience=None),
                     home=isolated_home)
    rows = run_epochs(info.id, isolated_home)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert all(r["step"] > 0 and r["wall"] > 0 and "val_loss" in r for r in rows)
    assert rows[0]["step"] < rows[1]["step"] < rows[2]["step"]


def test_two_jobs_training_at_once_both_land_in_the_index(reviews_csv, small_run_config, isolated_home):
    spec = f"csv:{reviews_csv(240)}"
    errors = []

    def train(name):
        try:
            train_run(small_run_config(spec, name=name, epochs=3, batch_size=4), home=isolated_home)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(f"job{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.id for r in list_runs(isolated_home)) == ["job0", "job1"]
    assert all(len(run_epochs(f"job{i}", isolated_home)) >= 1 for i in range(2))


def test_a_writer_killed_in_the_middle_of_a_transaction_leaves_a_readable_index(make_run, isolated_home):
    make_run("kept")
    code = textwrap.dedent(f"""
        import os, signal, sqlite3
        conn = sqlite3.connect({str(index.index_path(isolated_home))!r})
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM runs")
        conn.execute("INSERT INTO runs (id, name, status, record) VALUES ('half', 'half', 'running', 'garbage')")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -9
    assert [r.id for r in list_runs(isolated_home)] == ["kept"]  # the uncommitted change is gone


def test_a_locked_index_gives_one_plain_message(make_run, isolated_home, monkeypatch):
    make_run("kept")
    monkeypatch.setattr(index, "BUSY_S", 0.2)
    holder = sqlite3.connect(index.index_path(isolated_home))
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RunError) as err:
            update_run("kept", isolated_home, tags=["x"])
    finally:
        holder.rollback()
        holder.close()
    assert "busy" in err.value.message and "try again" in err.value.hint
    assert read_run("kept", isolated_home).tags == []  # refused as a whole: run.json is as it was ...
    update_run("kept", isolated_home, tags=["x"])  # ... and a retry once it is free goes through
    assert list_runs(isolated_home)[0].tags == ["x"]


def test_runs_trained_before_the_index_existed_are_imported_on_first_start(make_run, isolated_home):
    make_run("old-a")
    make_run("old-b")
    index.index_path(isolated_home).unlink()
    forget_index_in_this_process()
    assert sorted(r.id for r in list_runs(isolated_home)) == ["old-a", "old-b"]
    assert run_epochs("old-a", isolated_home)  # their curves come from history.jsonl


def test_a_damaged_index_file_is_set_aside_and_rebuilt_from_the_folders(make_run, isolated_home):
    make_run("survivor")
    path = index.index_path(isolated_home)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(os.urandom(4096))
    forget_index_in_this_process()
    assert [r.id for r in list_runs(isolated_home)] == ["survivor"]
    assert list(isolated_home.glob("index.sqlite.damaged-*"))


def test_a_damaged_row_is_reported_and_the_other_runs_still_list(make_run, isolated_home):
    make_run("good")
    make_run("bad")
    with sqlite3.connect(index.index_path(isolated_home)) as conn:
        conn.execute("UPDATE runs SET record = '{not json' WHERE id = 'bad'")
    runs, damaged = scan_runs(isolated_home)
    assert [r.id for r in runs] == ["good"]
    assert [d["id"] for d in damaged] == ["bad"] and "reindex" in damaged[0]["hint"]
    reindex(isolated_home)  # the folder is the truth: rebuilding brings it back
    assert sorted(r.id for r in list_runs(isolated_home)) == ["bad", "good"]


def test_a_damaged_run_folder_is_reported_by_reindex_and_skipped(make_run, isolated_home):
    make_run("good")
    info = make_run("broken")
    (Path(info.path) / "run.json").write_text("[]")
    counts = reindex(isolated_home)
    assert counts == {"runs": 1, "vector_sets": 0, "damaged": 1}
    runs, damaged = scan_runs(isolated_home)
    assert [r.id for r in runs] == ["good"] and damaged[0]["id"] == "broken"


def test_a_run_folder_copied_in_by_hand_is_listed_after_the_next_start(make_run, isolated_home, tmp_path):
    import shutil

    info = make_run("original")
    shutil.copytree(info.path, Path(info.path).parent / "copied")
    record = json.loads((Path(info.path).parent / "copied" / "run.json").read_text())
    (Path(info.path).parent / "copied" / "run.json").write_text(json.dumps({**record, "id": "copied"}))
    forget_index_in_this_process()
    assert sorted(r.id for r in list_runs(isolated_home)) == ["copied", "original"]


def test_two_tabs_deleting_the_same_run_the_second_is_told_it_is_gone(make_run, isolated_home):
    make_run("doomed")
    make_run("other")
    delete_run("doomed", isolated_home)
    with pytest.raises(RunError, match="does not exist"):
        delete_run("doomed", isolated_home)
    assert [r.id for r in list_runs(isolated_home)] == ["other"]
    assert sorted(p.name for p in (isolated_home / "runs").iterdir()) == ["other"]


def test_rename_and_tags_survive_a_rebuild_of_the_index(make_run, isolated_home):
    make_run("r1")
    update_run("r1", isolated_home, label="  my   first run ", tags=["baseline", "lstm", "baseline", " "])
    reindex(isolated_home)
    info = list_runs(isolated_home)[0]
    assert (info.id, info.name, info.tags) == ("r1", "my first run", ["baseline", "lstm"])


def test_a_run_of_a_dead_process_shows_as_interrupted(make_run, isolated_home):
    from bigmodel_core.runs.store import write_record

    info = make_run("crashed")
    (Path(info.path) / "checkpoint.safetensors").write_bytes(b"stands for a checkpoint")
    info.status, info.owner = "running", {"pid": 2**22 + 12345, "host": os.uname().nodename, "started": "1"}
    write_record(info, isolated_home)
    runs, _ = scan_runs(isolated_home)
    assert runs[0].status == "interrupted" and "stopped before the run ended" in runs[0].stop_reason
    assert read_run("crashed", isolated_home).status == "interrupted"  # written back to run.json too


def test_the_vector_sets_are_listed_from_the_index(isolated_home):
    import numpy as np

    from bigmodel_core.embeddings.sets import list_vector_sets, save_vector_set

    save_vector_set(["good", "bad"], np.eye(2), {"id": "tiny-set", "title": "tiny"}, home=isolated_home)
    assert [m["id"] for m in list_vector_sets(isolated_home)] == ["tiny-set"]
    with sqlite3.connect(index.index_path(isolated_home)) as conn:
        assert conn.execute("SELECT id FROM vector_sets").fetchall() == [("tiny-set",)]


def test_the_schema_version_is_recorded_and_a_newer_one_is_refused(make_run, isolated_home):
    make_run("r")
    with sqlite3.connect(index.index_path(isolated_home)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == index.SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA user_version={index.SCHEMA_VERSION + 1}")
    forget_index_in_this_process()
    with pytest.raises(RunError, match="newer BigModel Lab"):
        list_runs(isolated_home)


def test_a_history_line_cut_short_by_a_kill_is_dropped_and_the_rest_reads(make_run, isolated_home):
    from bigmodel_core.runs.store import read_history

    info = make_run("cut")
    path = Path(info.path) / "history.jsonl"
    whole = read_history("cut", isolated_home)
    path.write_text(path.read_text() + '{"kind": "batch_end", "epo')  # killed in the middle of an append
    assert read_history("cut", isolated_home) == whole
    path.write_text('{"kind": "fit_start"\n' + path.read_text())  # a bad line elsewhere is damage
    with pytest.raises(RunError, match="line 1 of its history.jsonl"):
        read_history("cut", isolated_home)


def test_a_rename_and_tags_given_while_a_run_trains_are_kept_to_the_end(reviews_csv, small_run_config, isolated_home):
    class RenameMidway(Callback):
        def on_epoch_end(self, trainer, event):
            if event.epoch == 1:
                update_run("busy", isolated_home, label="Renamed while training", tags=["keep-me"])

    cfg = small_run_config(f"csv:{reviews_csv()}", name="busy", epochs=3, early_stopping_patience=None)
    train_run(cfg, [RenameMidway()], home=isolated_home)
    info = read_run("busy", isolated_home)
    assert (info.name, info.tags, info.status) == ("Renamed while training", ["keep-me"], "finished")
    assert list_runs(isolated_home)[0].name == "Renamed while training"


def test_an_index_damaged_in_the_middle_is_set_aside_and_rebuilt_while_in_use(make_run, isolated_home):
    make_run("a")
    make_run("b")
    path = index.index_path(isolated_home)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[8192:] = os.urandom(len(data) - 8192)  # pages past the second one: "database disk image is malformed"
    path.write_bytes(bytes(data))
    assert sorted(r.id for r in list_runs(isolated_home)) == ["a", "b"]  # this very process, no restart
    assert list(isolated_home.glob("index.sqlite.damaged-*"))


def test_several_processes_opening_a_new_workspace_at_once_all_list_it(make_run, isolated_home):
    make_run("only")
    index.index_path(isolated_home).unlink()
    code = (f"from bigmodel_core.runs.store import list_runs; import sys; "
            f"sys.exit(0 if [r.id for r in list_runs({str(isolated_home)!r})] == ['only'] else 3)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0] * 6, [err[-300:] for _, err in results]


def test_a_moved_workspace_lists_its_runs_where_they_are_now(make_run, isolated_home, tmp_path):
    import shutil

    make_run("travels")
    moved = tmp_path / "moved-home"
    shutil.move(str(isolated_home), moved)
    (info,) = list_runs(moved)
    assert info.path == str(moved / "runs" / "travels")


def test_a_damaged_run_put_right_is_listed_again_without_a_reindex(make_run, isolated_home):
    info = make_run("fixed-later")
    record = (Path(info.path) / "run.json").read_bytes()
    (Path(info.path) / "run.json").write_text("{broken")
    reindex(isolated_home)
    assert [d["id"] for d in scan_runs(isolated_home)[1]] == ["fixed-later"]
    (Path(info.path) / "run.json").write_bytes(record)  # restored from a backup, as the hint says
    runs, damaged = scan_runs(isolated_home)
    assert [r.id for r in runs] == ["fixed-later"] and damaged == []


def test_a_run_that_fails_after_its_first_epoch_is_kept_as_failed_with_its_error(reviews_csv, small_run_config,
                                                                                 isolated_home):
    from bigmodel_core.errors import TrainingError

    class FailAtEpoch2(Callback):
        def on_epoch_start(self, trainer, event):
            if event.epoch == 2:
                raise TrainingError("The loss exploded to 1e+09 at step 30.", "Lower the learning rate.")

    cfg = small_run_config(f"csv:{reviews_csv()}", name="diverged", epochs=3)
    with pytest.raises(TrainingError):
        train_run(cfg, [FailAtEpoch2()], home=isolated_home)
    info = read_run("diverged", isolated_home)
    assert info.status == "failed" and info.error["message"].startswith("The loss exploded")
    assert info.epochs_done == 1 and run_epochs("diverged", isolated_home)
