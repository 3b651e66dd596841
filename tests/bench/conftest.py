"""The scripts of bench/, run as a user runs them: `python bench/<script> ...`
from the repository, in a process of their own, with the services of
.cache/services.env (tests/conftest.py has put them in the environment).

A test module names its runs in a `RUNS` table ({name: (script, *args)}) and
asks for one with `@pytest.mark.parametrize("bench", [name], indirect=True)`.
The module's first test starts every run its selected tests ask for, two at
a time in the table's order, and each test waits for its own: most of a run
is one process on one core, so two at once keep both cores of the machine
busy and the module takes half as long.

A run fails its test when the script exits non-zero, quoting the end of its
output. Most scripts write what they measured as JSON under bench/results/
(git ignores it) and print its path; `BenchRun.result()` reads the file the
run printed, so a test checks the same figures a reader of the results would.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
# Under pytest-timeout's 600 s, so that a hung bench fails with its output.
RUN_TIMEOUT = 480
CLEANUP_TIMEOUT = 60
LANES = 2  # runs at once: the cores of the machine the suite is sized for
RESULT_PATH = re.compile(r"bench/results/[\w.-]+\.json")


@dataclass
class BenchRun:
    command: str
    stdout: str
    stderr: str

    def result(self) -> dict:
        """The JSON the script wrote (the last results file its output names)."""
        named = RESULT_PATH.findall(self.stdout)
        assert named, f"{self.command} named no results file:\n{self.stdout[-3000:]}"
        result = json.loads((ROOT / named[-1]).read_text())
        # Files are named by the second a run started in: this one's own, not another run's.
        recorded = result.get("command")
        assert recorded is None or recorded.endswith(self.command.split(" ", 1)[-1]), (self.command, recorded)
        return result


def run_bench(script: str, *args: str, timeout: float = RUN_TIMEOUT) -> BenchRun:
    env = {
        **os.environ,
        # The docsvc commands a bench starts import this checkout too.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        # One OpenMP thread per Tesseract, as docsvc runs it: ocr.py's raw
        # OCRmyPDF would otherwise start a thread per core in each of its
        # jobs, and on a busy machine run into Tesseract's page timeout
        # (an empty page, minutes long) instead of reading the scan.
        "OMP_THREAD_LIMIT": "1",
    }
    command = " ".join(["bench/" + script, *args])
    with subprocess.Popen([sys.executable, str(BENCH / script), *args], cwd=ROOT, env=env, text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Ctrl-C, as a user stops a bench: its finally blocks stop the
            # servers it started and remove the installation it made.
            proc.send_signal(signal.SIGINT)
            try:
                stdout, stderr = proc.communicate(timeout=CLEANUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
            raise AssertionError(f"{command} did not end in {timeout:.0f} s:\n{stdout[-3000:]}\n"
                                 f"{stderr[-3000:]}") from None
    assert proc.returncode == 0, f"{command} exited {proc.returncode}:\n{stdout[-4000:]}\n{stderr[-4000:]}"
    return BenchRun(command, stdout, stderr)


@pytest.fixture(scope="module")
def bench_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[BenchRun]]]:
    table: dict[str, tuple[str, ...]] = request.module.RUNS
    asked = {item.callspec.params["bench"] for item in request.session.items
             if item.module is request.module and "bench" in getattr(getattr(item, "callspec", None), "params", {})}
    with ThreadPoolExecutor(LANES, thread_name_prefix="bench") as pool:
        runs = {name: pool.submit(run_bench, *command) for name, command in table.items() if name in asked}
        yield runs
        for run in runs.values():  # a test run stopped early leaves the rest unstarted
            run.cancel()


@pytest.fixture
def bench(request: pytest.FixtureRequest, bench_runs: dict[str, Future[BenchRun]]) -> BenchRun:
    return bench_runs[request.param].result()
