"""The resume helper the classifier and the DCGAN share: a checkpoint is taken back only by the
run that wrote it."""

from __future__ import annotations

import logging

from idc_synth.checkpoint import resume, save_checkpoint


class _Run:
    def __init__(self, settings: dict, data: str) -> None:
        self.settings, self.data, self.restored = settings, data, None

    def identity(self) -> dict:
        return {"settings": self.settings, "data": self.data}

    def restore(self, state: dict) -> None:
        self.restored = state["step"]


def test_resume_restores_the_same_run_and_names_what_differs_otherwise(tmp_path, caplog):
    path = tmp_path / "checkpoint.pt"
    assert not resume(_Run({"lr": 1.0}, "a"), path)  # nothing saved yet: a fresh start
    assert not resume(_Run({"lr": 1.0}, "a"), None)  # no checkpointing at all
    save_checkpoint(path, {**_Run({"lr": 1.0}, "a").identity(), "step": 7})
    same = _Run({"lr": 1.0}, "a")
    assert resume(same, path) and same.restored == 7
    for other, differs in ((_Run({"lr": 2.0}, "a"), "settings"), (_Run({"lr": 1.0}, "b"), "data")):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert not resume(other, path)
        assert other.restored is None
        assert f"was made with other {differs}; ignoring it" in caplog.text
