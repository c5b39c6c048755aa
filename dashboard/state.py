"""The dataset the dashboard shows: the active validated report and its network, held once per process."""

from __future__ import annotations

from functools import cached_property

from riskmodel.network import SupplyNetwork
from riskmodel.validate import ValidationReport


class Dataset:
    """One loaded dataset version: its validation report and (built once) its network."""

    def __init__(self, report: ValidationReport, name: str):
        self.report, self.name = report, name

    @cached_property
    def network(self) -> SupplyNetwork:
        return self.report.network()


_active: Dataset | None = None


def set_active(report: ValidationReport, name: str) -> Dataset:
    global _active
    _active = Dataset(report, name)
    return _active


def active() -> Dataset:
    if _active is None:
        raise RuntimeError("no dataset loaded: start the app with create_app(report)")
    return _active
