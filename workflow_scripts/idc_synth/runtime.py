"""Plumbing shared by the entry scripts: logging into the rule's log file, thread limits."""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only in the jobs that use it: the data rules stay light
    import pandas as pd
    import torch

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Warnings that tell a user nothing: tensors made from read-only (memory-mapped) arrays are only
# read; the LoRA files hold UNet weights only, by design (the text encoder stays frozen).
QUIET_WARNINGS = ("The given NumPy array is not writable",)
QUIET_LOG_MESSAGES = ("No LoRA keys associated to CLIPTextModel",)


def _worth_logging(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(QUIET_LOG_MESSAGES)


@contextlib.contextmanager
def rule_logging(log_path: str | Path | None) -> Iterator[logging.Logger]:
    """Route logging, warnings and stderr (where tqdm draws its bar) into the rule's log.

    With no log path, everything stays on the terminal: handy when a script is run by hand.
    Exceptions are logged with their traceback before they propagate, so a failed job's log
    says why it failed.
    """
    logger = logging.getLogger("idc_synth")
    if log_path is None:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        yield logger
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        # diffusers logs through its own handler (when imported), so filter there too
        for quiet in (handler, *logging.getLogger("diffusers").handlers):
            quiet.addFilter(_worth_logging)
        for message in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        saved_stderr, sys.stderr = sys.stderr, stream
        try:
            yield logger
        except BaseException:
            logger.exception("failed")
            raise
        finally:
            sys.stderr = saved_stderr
            root.removeHandler(handler)
            logging.captureWarnings(False)


def limit_torch_threads(threads: int) -> None:
    """Keep torch within the cores Snakemake gave the job (it would otherwise take them all)."""
    import torch

    torch.set_num_threads(max(1, int(threads)))
    with contextlib.suppress(RuntimeError):  # only settable before the first parallel op
        torch.set_num_interop_threads(1)


def resolve_device(name: str) -> torch.device:
    import torch

    """'auto' picks CUDA when present; asking for 'cuda' without one is an error, not a fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; valid: auto, cpu, cuda")
    return torch.device(name)


def read_parquets(paths: list[Path], logger: logging.Logger) -> pd.DataFrame:
    """Several Parquet tables of one kind (e.g. every arm's and seed's predictions) stacked."""
    import pandas as pd

    table = pd.concat([pd.read_parquet(path) for path in paths], ignore_index=True)
    logger.info("read %d files (%d rows)", len(paths), len(table))
    return table


def write_tsv(path: Path, table: pd.DataFrame, logger: logging.Logger) -> None:
    """A result table as TSV, its folder made, and the table itself in the log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False)
    logger.info("wrote %s (%d rows):\n%s", path, len(table), table.to_string())


PROGRESS_MININTERVAL_S = 30.0  # tqdm redraws at most this often: rule logs stay short


def log_progress(iterable, total: int | None = None, **options):
    """A tqdm progress bar (count, rate, ETA) on stderr, which a rule's log captures."""
    from tqdm import tqdm

    return tqdm(
        iterable, total=total, file=sys.stderr, mininterval=PROGRESS_MININTERVAL_S, **options
    )
