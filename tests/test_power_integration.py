"""Window integration on synthetic traces whose integrals are known exactly."""

from __future__ import annotations

import math

import pytest

from slmbench.power import PowerWindow, integrate_energy, net_energy_j


def trace(fn, start, stop, step, offset=0.0):
    times = []
    t = start + offset
    while t <= stop + 1e-12:
        times.append(t)
        t += step
    return times, [fn(x) for x in times]


def test_constant_power_is_exact_for_any_window_phase():
    times, powers = trace(lambda t: 5000.0, 0.0, 10.0, 0.1)
    for t0 in (1.0, 1.03, 1.05, 1.099):
        w = integrate_energy(times, powers, t0, t0 + 0.3, max_gap_s=0.3)
        assert w.energy_j == pytest.approx(5000.0 * 0.3 / 1000.0, rel=1e-12)
        assert w.mean_power_mw == pytest.approx(5000.0)


def test_step_load_is_exact_whatever_the_sampling_phase():
    # An inference is a step: idle before t0, full load inside [t0, t1], idle after. Interpolating the edge
    # values towards the idle samples outside would under-count up to half a period of load at each edge.
    idle_mw, load_mw = 4000.0, 9000.0
    for offset in (0.0, 0.013, 0.05, 0.087):
        for t0, t1 in ((2.03, 2.38), (5.011, 6.011), (7.0, 7.55)):
            times, _ = trace(lambda t: 0.0, 0.0, 10.0, 0.1, offset=offset)
            powers = [load_mw if t0 <= t <= t1 else idle_mw for t in times]
            w = integrate_energy(times, powers, t0, t1, max_gap_s=0.3)
            net_j = net_energy_j(w.energy_j, idle_mw, t1 - t0)
            assert net_j == pytest.approx((load_mw - idle_mw) * (t1 - t0) / 1000.0, rel=1e-9)


def test_linear_ramp_within_a_percent_and_samples_counted():
    def ramp(t):
        return 1000.0 + 800.0 * t

    times, powers = trace(ramp, 0.0, 10.0, 0.1)
    t0, t1 = 2.037, 2.371
    exact_mj = 1000.0 * (t1 - t0) + 400.0 * (t1 ** 2 - t0 ** 2)
    w = integrate_energy(times, powers, t0, t1, max_gap_s=0.3)
    assert w.energy_j == pytest.approx(exact_mj / 1000.0, rel=0.01)
    assert w.n_samples == 3  # 2.1, 2.2, 2.3 inside; 2.0 and 2.4 bracket it


def test_sine_error_within_acceptance_at_100ms():
    def power(t):
        return 6000.0 + 2000.0 * math.sin(2 * math.pi * t / 1.7)

    def exact_j(t0, t1):
        w = 2 * math.pi / 1.7
        return (6000.0 * (t1 - t0) - 2000.0 / w * (math.cos(w * t1) - math.cos(w * t0))) / 1000.0

    times, powers = trace(power, 0.0, 30.0, 0.1, offset=0.013)
    for t0 in (3.0, 7.31, 11.77):
        for length, tolerance in ((0.3, 0.05), (5.0, 0.01)):
            w = integrate_energy(times, powers, t0, t0 + length, max_gap_s=0.3)
            assert abs(w.energy_j / exact_j(t0, t0 + length) - 1) <= tolerance


def test_held_edges_recover_what_dropping_the_edges_loses():
    times, powers = trace(lambda t: 5000.0, 0.0, 10.0, 0.1)
    t0, t1 = 1.09, 1.41  # samples inside: 1.1 .. 1.4 (0.3 s of the 0.32 s)
    inside = [(t, p) for t, p in zip(times, powers) if t0 <= t <= t1]
    dropped_edges_j = sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in zip(inside, inside[1:])) / 1000
    w = integrate_energy(times, powers, t0, t1)
    assert w.energy_j == pytest.approx(5.0 * 0.32)
    assert dropped_edges_j < 0.95 * w.energy_j


def test_window_inside_one_sampling_interval():
    times, powers = [0.0, 0.1], [1000.0, 2000.0]
    w = integrate_energy(times, powers, 0.02, 0.07)
    assert w.n_samples == 0
    assert w.energy_j == pytest.approx((1200.0 + 1700.0) / 2 * 0.05 / 1000)


def test_zero_length_window_is_zero_energy_with_the_power_at_that_instant():
    w = integrate_energy([0.0, 0.1], [1000.0, 2000.0], 0.05, 0.05)
    assert w.energy_j == 0.0 and w.mean_power_mw == pytest.approx(1500.0)


def test_unbracketed_window_is_null_with_the_reason():
    times, powers = trace(lambda t: 5000.0, 1.0, 2.0, 0.1)
    early = integrate_energy(times, powers, 0.95, 1.5)
    assert early.energy_j is None and early.mean_power_mw is None and "before the first power sample" in early.note
    late = integrate_energy(times, powers, 1.5, 2.05)
    assert late.energy_j is None and "no power sample at or after the window end" in late.note
    empty = integrate_energy([], [], 0.0, 1.0)
    assert empty.energy_j is None and empty.n_samples == 0 and "no power samples" in empty.note


def test_gap_over_the_limit_is_null_and_gap_at_the_limit_is_measured():
    times = [0.0, 0.1, 0.2, 0.55, 0.6, 0.7]  # a 350 ms gap
    powers = [1000.0] * len(times)
    w = integrate_energy(times, powers, 0.05, 0.65, max_gap_s=0.3)
    assert w.energy_j is None and "350 ms gap" in w.note and "300 ms" in w.note
    assert integrate_energy(times, powers, 0.05, 0.65, max_gap_s=0.35).energy_j == pytest.approx(0.6)
    # a gap outside the window's bracketing samples does not matter
    assert integrate_energy(times, powers, 0.56, 0.65, max_gap_s=0.3).energy_j == pytest.approx(0.09)


def test_reversed_window_is_a_programming_error():
    with pytest.raises(ValueError):
        integrate_energy([0.0, 1.0], [1.0, 1.0], 0.8, 0.2)


def test_net_energy_is_not_clamped():
    assert net_energy_j(2.0, 5000.0, 0.5) == pytest.approx(-0.5)
    assert net_energy_j(3.0, 4000.0, 0.5) == pytest.approx(1.0)
    assert net_energy_j(None, 4000.0, 0.5) is None
    assert net_energy_j(3.0, None, 0.5) is None


def test_power_window_units():
    w = PowerWindow(1.0, 1.5, 2.5, 5000.0, 5, None)
    assert w.duration_s == 0.5 and w.energy_j * 1000 / w.duration_s == w.mean_power_mw
