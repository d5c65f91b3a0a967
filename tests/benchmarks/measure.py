"""Whole-process measurements for the benchmarks: wall, CPU and peak memory of a command.

Each measurement starts a fresh process and reads the operating system's accounting of it
when it is reaped (`os.wait4`): user and system CPU seconds of the process and of the
children it waited for (dbt's subprocess counts), and the peak resident set size of the
largest of them. Commands are run in turn (A B C A B C ...) so that a drift in the machine's
speed affects every command alike; figures are medians, ratios are taken run by run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    peak_mb: float
    returncode: int
    load_before: float  # 1-minute load average when the run started
    extra: dict = field(default_factory=dict)  # what the command printed as `key=value`


def run(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    log: str | None = None,
) -> Sample:
    """Run `command` once; its output goes to `log` (appended) or is discarded."""
    load = os.getloadavg()[0]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            list(command), env=dict(env) if env else None, cwd=cwd, stdout=out, stderr=out
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()
    wall = time.perf_counter() - started
    return Sample(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_mb=usage.ru_maxrss / 1024,
        returncode=process.returncode,
        load_before=load,
    )


@dataclass
class Series:
    """The samples of one command."""

    name: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, what: str) -> float:
        return statistics.median(getattr(s, what) for s in self.samples)

    def spread(self, what: str) -> tuple[float, float]:
        values = [getattr(s, what) for s in self.samples]
        return min(values), max(values)

    def failures(self) -> int:
        return sum(s.returncode != 0 for s in self.samples)


def interleaved(
    commands: Mapping[str, Callable[[], Sample]], repeats: int, *, progress=print
) -> dict[str, Series]:
    """Run every command `repeats` times, in turn; each callable measures one run."""
    series = {name: Series(name) for name in commands}
    for round_number in range(1, repeats + 1):
        for name, measure in commands.items():
            sample = measure()
            series[name].samples.append(sample)
            progress(
                f"  round {round_number}/{repeats} {name}: {sample.wall_s:.1f} s wall, "
                f"{sample.cpu_s:.1f} s CPU, {sample.peak_mb:.0f} MB peak, load "
                f"{sample.load_before:.1f}, rc {sample.returncode}"
            )
    return series


def paired_ratio(a: Series, b: Series, what: str) -> float:
    """Median of the run-by-run ratios a/b (run i of a with run i of b)."""
    return statistics.median(
        getattr(x, what) / getattr(y, what) for x, y in zip(a.samples, b.samples, strict=False)
    )


def as_json(series: Mapping[str, Series]) -> dict:
    return {
        name: {
            "samples": [asdict(s) for s in item.samples],
            "median": {w: item.median(w) for w in ("wall_s", "cpu_s", "peak_mb")},
        }
        for name, item in series.items()
    }


def load_range(series: Mapping[str, Series]) -> tuple[float, float]:
    loads = [s.load_before for item in series.values() for s in item.samples]
    return min(loads), max(loads)
