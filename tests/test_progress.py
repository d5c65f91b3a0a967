"""`civic run`'s progress lines: one per asset, and failures with their root cause."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    Definitions,
    MaterializeResult,
    asset,
    define_asset_job,
    in_process_executor,
)

from pipelines.progress import progress_logger, progress_run_config


def run_with_progress(*assets, checks: int = 0):
    """Run `assets` as one job with the progress logger, as `civic run` configures it."""
    defs = Definitions(
        assets=list(assets),
        jobs=[define_asset_job("job")],
        loggers={"progress": progress_logger},
        executor=in_process_executor,
    )
    return defs.resolve_job_def("job").execute_in_process(
        run_config=progress_run_config(verbose=False, total_assets=len(assets), checks=checks),
        raise_on_error=False,
    )


@asset
def loads_fine() -> int:
    return 1


@asset(deps=[loads_fine])
def portal_down() -> None:
    raise ConnectionError("portal answered 503 three times")


def test_progress_names_each_asset_and_the_root_cause_of_a_failure(capsys):
    result = run_with_progress(loads_fine, portal_down)
    out = capsys.readouterr().out
    assert not result.success
    assert "[  1/2] loads_fine" in out
    assert "portal_down FAILED: ConnectionError: portal answered 503 three times" in out


def test_terminal_display_counts_each_stage(monkeypatch):
    import io

    from pipelines import console

    shown = io.StringIO()
    display = console.RunDisplay(shown, live=True)
    monkeypatch.setattr(console, "_active", display)
    with display.showing():
        run_with_progress(loads_fine, portal_down)
    loads = display.stages["loads"]
    assert (loads.done, loads.total) == (1, 2)
    out = shown.getvalue()
    assert "portal_down FAILED: ConnectionError" in out
    assert "1/2" in out  # the bar's count


def test_terminal_display_of_a_stage_without_a_total():
    """Checks and dbt models begin with no known size: the live display must still render
    (a format of None here once failed every step of `civic run` on a terminal)."""
    import io

    from pipelines import console

    shown = io.StringIO()
    display = console.RunDisplay(shown, live=True)
    with display.showing():
        display.begin("loads", total=2)
        display.advance("loads", "one")
        display.begin("checks")
        display.advance("checks")
        display._progress.refresh()
        display.end("checks")
    out = shown.getvalue()
    assert "1/2" in out and "1/?" in out


def test_plain_lines_summarize_dbt_models_by_the_step():
    import io

    from pipelines.console import MODEL_STEP, RunDisplay

    shown = io.StringIO()
    display = RunDisplay(shown, live=False)
    display.begin("dbt models", 3 * MODEL_STEP)
    for _ in range(3 * MODEL_STEP + 7):
        display.advance("dbt models", "a model")
    display.end("dbt models")
    lines = shown.getvalue().splitlines()
    assert len(lines) == 4, lines  # one per MODEL_STEP models, one when the stage ends
    assert lines[-1].startswith(f"  dbt models: {3 * MODEL_STEP + 7} done")


@asset
def civic_dbt_models(context) -> None:  # named as the dbt step is
    context.log.warning("Logging an `AssetObservation` instead\nof an `AssetCheckResult`")


@asset
def noisy_load(context) -> None:
    context.log.warning("first line of a warning\nsecond line")


def test_dbt_step_warnings_go_to_the_log_only_and_others_are_one_line(monkeypatch):
    import io
    import logging

    from pipelines import console

    shown, logged = io.StringIO(), io.StringIO()
    display = console.RunDisplay(shown, live=False)
    display.log_handler = logging.StreamHandler(logged)
    monkeypatch.setattr(console, "_active", display)
    run_with_progress(civic_dbt_models, noisy_load)
    out = shown.getvalue()
    assert "AssetObservation" not in out and "AssetObservation" in logged.getvalue()
    assert "  warning: first line of a warning\n" in out and "second line" not in out


@asset
def first_load() -> int:
    return 1


@asset(deps=[first_load])
def second_load() -> int:
    return 2


def test_a_failing_display_stops_but_never_fails_a_step(monkeypatch):
    """The progress logger runs inside every step: an error in the display (as a bad format
    once raised on a terminal) must stop the display, not the run."""
    import io
    import logging

    from pipelines import console

    class BrokenDisplay(console.RunDisplay):
        def advance(self, name: str, label: str = "", failed: bool = False) -> None:
            raise ValueError("cannot render this")

    shown, logged = io.StringIO(), io.StringIO()
    display = BrokenDisplay(shown, live=False)
    display.log_handler = logging.StreamHandler(logged)
    monkeypatch.setattr(console, "_active", display)
    result = run_with_progress(first_load, second_load)
    assert result.success
    assert result.output_for_node("second_load") == 2
    out = shown.getvalue()
    note = "progress display stopped (ValueError: cannot render this); the run goes on"
    assert out.count(note) == 1, out  # said once, then the display stays quiet
    assert note in logged.getvalue() and "STEP_SUCCESS" in logged.getvalue()


@asset(check_specs=[AssetCheckSpec("has_rows", asset="checked_load")])
def checked_load():
    yield MaterializeResult(check_results=[AssetCheckResult(check_name="has_rows", passed=True)])


def test_the_checks_stage_shows_the_run_s_count_of_checks(monkeypatch):
    """The load run's config carries how many quality checks it evaluates, so the bar reads
    "1/1", not "1/?"."""
    import io

    from pipelines import console

    shown = io.StringIO()
    display = console.RunDisplay(shown, live=True)
    monkeypatch.setattr(console, "_active", display)
    with display.showing():
        result = run_with_progress(checked_load, checks=1)
    assert result.success
    checks = display.stages["checks"]
    assert (checks.done, checks.total) == (1, 1)
