"""The load test's table (``bench/load.py``): each step's CPU per request is what the
worker reported plus gunicorn's own part, as a multiple of the bare endpoint's CPU in
/proc; the bare endpoint asked for within the journeys is listed beside it but is not a
step the target judges."""

from bench.load import BARE, BARE_BESIDE, Results, report


def test_steps_are_judged_against_the_floor_measured_alone(capsys):
    results = Results()
    # The bare endpoint alone: 100 requests, each reported as 0.1 ms by the worker, 50 ms
    # of worker CPU in /proc in all: a floor of 0.5 ms, 0.4 ms of it gunicorn's.
    for _ in range(100):
        results.record(BARE, 0.001, 0.0001)
    # Within the journeys, the same endpoint reported 0.2 ms (0.6 ms with gunicorn's part:
    # 1.2 times the floor); the worklist 4.6 ms (5.0 ms: 10 times).
    for _ in range(4):
        results.record(BARE_BESIDE, 0.002, 0.0002)
        results.record("worklist", 0.03, 0.0046)
    phases = {"bare": (1.0, 0.050, 100), "mixed": (60.0, 0.0224, 8)}

    worst = report(results, phases)

    assert round(worst, 6) == 10.0  # the worklist's; the in-journey bare is not a step
    out = capsys.readouterr().out
    rows = {line[:18].strip(): line.split() for line in out.splitlines()}
    assert rows["bare endpoint"][-2:] == ["0.50", "1.0"]
    assert rows["bare, in journey"][-2:] == ["0.60", "1.2"]
    assert rows["worklist"][-2:] == ["5.00", "10.0"]
    # (4 x 0.6 + 4 x 5.0) ms of the journey's 22.4 ms of /proc CPU: all of it accounted for.
    assert "account for 100% of the journey's /proc CPU" in out
