"""The CLI across processes: `train --processes N` starts torchrun, and each rank's CLI runs through @record.

`torchrun --standalone --nproc-per-node N -m bigmodel_core train ...` and `train --processes N` (which
runs that very command as a child: training.launch) train one run in N processes: rank 0 prints and
writes, the others are quiet. A Ctrl-C or SIGTERM makes every rank stop at the same batch boundary
(the run is kept as stopped, resumable there); a second one interrupts at once.
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Callable, Optional

from .errors import BigModelError, ConfigError


def under_torchrun(main: Callable[[Optional[list[str]], Any], int], argv: Optional[list[str]]) -> int:
    """`main(argv, world)`; under torchrun decorated with torch's @record (faulthandler on, and an
    exception that escapes is written to torchrun's error file for the launcher and its summary)."""
    from .training.distributed import world

    w = world()
    if not w.launched:
        return main(argv, w)
    from torch.distributed.elastic.multiprocessing.errors import record

    from .training.worker import quiet_unless_lead

    def ranked(argv: Optional[list[str]], w: Any) -> int:
        quiet_unless_lead(w)  # after @record set up its fault handler on the real stderr
        return main(argv, w)

    return record(ranked)(argv, w)


def rank_exit(w: Any, code: int, failure: Optional[BaseException]) -> None:
    """Under torchrun, as the CLI ends: its error into this rank's error file, and rank 0's exit to its launcher."""
    from .training.worker import record_error, report_exit

    if failure is not None:
        record_error(failure)
    report_exit(w, code, failure)


def requested_processes(args: Any) -> int:
    """How many processes `train` asks for: --processes, --set processes=N, or a resumed run's own."""
    from .__main__ import _settings, _typed
    from .config import TrainConfig

    if args.processes is not None:
        return _typed(TrainConfig, "processes", str(args.processes))
    if "processes" in _settings(args.set):
        return _typed(TrainConfig, "processes", _settings(args.set)["processes"])
    if args.resume:
        from .runs.store import read_run

        try:
            return read_run(args.resume).config.train.processes
        except BigModelError:
            return 1  # train_run will say what is wrong with the run
    return 1


def train_in_world(args: Any, train: Callable[[Any, Any, Optional[threading.Event]], Any]) -> int:
    """`train(args, world, stop_event)` (which returns the RunInfo) in this process, or in N under
    torchrun when `args` ask for N; the exit code."""
    from .__main__ import _settings
    from .training.distributed import world

    w = world()
    processes = requested_processes(args)
    if processes > 1 and not w.launched:
        from .training.launch import check_processes, launch_cli

        check_processes(processes, args.device or _settings(args.set).get("device") or "auto")
        return launch_cli(args.argv, processes)  # the same arguments, in each of the N processes
    if w.launched and processes != w.size and (args.processes is not None or "processes" in _settings(args.set)):
        raise ConfigError(f"torchrun started {w.size} processes, but the settings ask for {processes}.",
                          "Leave --processes out under torchrun (its --nproc-per-node decides), or run without torchrun.")
    if not w.distributed:
        train(args, w, None)
        return 0
    from .training.worker import graceful_signals, launch_dir, watch_launcher

    stop = threading.Event()
    watch_launcher(stop, launch_dir())
    with graceful_signals(stop) as signals:
        info = train(args, w, stop)
    if signals.signal is not None:  # every rank stopped at the same batch; the run is kept, resumable there
        print(f"Stopped by {signal.Signals(signals.signal).name}: the run {info.id} is kept as {info.status} "
              f"(continue it with: train --resume {info.id}).", file=sys.stderr)
        return 128 + signals.signal
    return 0
