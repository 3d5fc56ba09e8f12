"""排班, the pure parts: Erlang C against a published worked example and a discrete-event simulation, the
forecast against a plain loop on synthetic history, promotion days, holidays, roster counting."""

from __future__ import annotations

import heapq
import math
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.staffing import (
    Event,
    Params,
    StaffingError,
    erlang_b,
    erlang_c,
    horizon,
    service_level,
    staffing,
)
from analytics.staffing import days as day_types
from analytics.staffing.data import count_scheduled, observe
from analytics.staffing.erlang import mean_wait, servers_needed
from analytics.staffing.forecast import History, fit, trimmed_mean

TZ = ZoneInfo("Asia/Shanghai")


# -- Erlang C: the published worked example ---------------------------------------------------------------
# The Call Centre Helper worked example ("Erlang C formula — made simple with an easy worked example"):
# 100 calls in 30 minutes, average handle time 180 s, target 80 % answered in 20 s. Its published results,
# as reproduced in the documentation of two Erlang C libraries —
#   pyworkforce 0.1.0 README (https://pypi.org/project/pyworkforce/0.1.0/): ErlangC(transactions=100,
#     asa=20/60, aht=3, interval=30) → raw_positions 14, service_level 0.8883500191794669,
#     occupancy 0.7142857142857143, waiting_probability 0.1741319335950498;
#   R package ErlangC 0.1.0 (https://rdocumentation.org/packages/ErlangC/versions/0.1.0): traffic_intensity
#     10, wait_probability 0.1741319, service_level 0.88835, average_speed_of_answer 7.83593701177724 s,
#     agents 14, and in its search table 11 agents → wait_probability 0.6821182.

def test_published_worked_example():
    load = 100 / 1800 * 180  # 10 Erlangs
    assert load == pytest.approx(10.0)
    assert erlang_c(14, load) == pytest.approx(0.1741319335950498, abs=1e-12)
    assert service_level(14, load, 20, 180) == pytest.approx(0.8883500191794669, abs=1e-12)
    assert mean_wait(14, load, 180) == pytest.approx(7.83593701177724, abs=1e-9)
    assert erlang_c(11, load) == pytest.approx(0.6821182, abs=1e-7)
    plan = staffing(200, 180, target=0.8, answer_seconds=20)  # 100 per half hour = 200 per hour
    assert (plan.agents, plan.servers) == (14, 14)
    assert plan.occupancy == pytest.approx(0.7142857142857143)
    assert plan.service_level == pytest.approx(0.8883500191794669)
    assert servers_needed(load, 0.8, 20, 180) == 14  # 13 agents give 79.6 %, just under the target


def test_erlang_b_recursion_is_stable_where_factorials_overflow():
    # 1,500! overflows a float; the recursion does not. Checked against the same sum in log space.
    servers, load = 1500, 1450.0
    logs = [k * math.log(load) - math.lgamma(k + 1) for k in range(servers + 1)]
    top = max(logs)
    direct = math.exp(logs[-1] - top) / sum(math.exp(x - top) for x in logs)
    assert erlang_b(servers, load) == pytest.approx(direct, rel=1e-9)
    assert 0 < erlang_c(servers, load) < 1


@pytest.mark.parametrize("servers, load", [
    (1, 0.5),  # M/M/1: C = ρ
    (2, 1.0),  # C = A²/(2(2−A)+A²) … = 1/3
    (3, 2.9),  # nearly saturated
])
def test_small_cases_by_formula(servers, load):
    terms = sum(load ** k / math.factorial(k) for k in range(servers))
    last = load ** servers / math.factorial(servers) * servers / (servers - load)
    assert erlang_c(servers, load) == pytest.approx(last / (terms + last), rel=1e-12)


def test_unstable_and_empty_hours():
    assert erlang_c(3, 3.0) == 1.0 and service_level(3, 3.5, 30, 60) == 0.0
    assert staffing(0, 120).agents == 0


# -- Erlang C against a discrete-event simulation of M/M/c ------------------------------------------------

def simulate(servers: int, arrivals_per_hour: float, handle_seconds: float, answer_seconds: float,
             n: int, seed: int) -> float:
    """Share of ``n`` Poisson arrivals served FIFO by ``servers`` exponential servers that wait ≤ answer."""
    rnd = random.Random(seed)
    free_at = [0.0] * servers  # a heap of the times each server frees up
    t, within, warmup = 0.0, 0, n // 10
    for i in range(n):
        t += rnd.expovariate(arrivals_per_hour / 3600)
        earliest = heapq.heappop(free_at)
        begin = max(t, earliest)
        heapq.heappush(free_at, begin + rnd.expovariate(1 / handle_seconds))
        if i >= warmup and begin - t <= answer_seconds:
            within += 1
    return within / (n - warmup)


@pytest.mark.parametrize("servers, arrivals, handle", [
    (5, 120, 120),  # 4 Erlangs on 5 servers
    (12, 500, 75),  # ~10.4 Erlangs
])
def test_service_level_matches_a_simulation(servers, arrivals, handle):
    load = arrivals * handle / 3600
    simulated = simulate(servers, arrivals, handle, 30, n=80_000, seed=11)
    assert simulated == pytest.approx(service_level(servers, load, 30, handle), abs=0.02)


def test_concurrency_is_servers_per_agent():
    """3 agents × 2 chats each is the queue of 6 servers: the sizing and the simulation agree on it."""
    plan = staffing(300, 90, target=0.8, answer_seconds=30, concurrency=2)
    assert plan.servers == plan.agents * 2
    assert simulate(plan.servers, 300, 90, 30, n=60_000, seed=3) >= 0.8 - 0.02
    fewer = plan.servers - 2
    assert service_level(fewer, 300 * 90 / 3600, 30, 90) < 0.8  # one agent less misses the target


# -- the forecast against a plain loop ---------------------------------------------------------------------

def _history(weeks: int, profile, noise: float, end: date, seed: int = 1, boost: dict | None = None):  # noqa: ANN001
    rnd = random.Random(seed)
    counts = {}
    first = end - timedelta(days=7 * weeks)
    day = first
    while day < end:
        for hour in range(24):
            x = profile(day.weekday(), hour) * (boost or {}).get(day, 1.0)
            counts[(day, hour)] = max(0.0, round(x * (1 + rnd.uniform(-noise, noise))))
        day += timedelta(days=1)
    return History(counts, first, (end, 0)), first


def _shape(weekday: int, hour: int) -> float:
    return (60 if weekday < 5 else 40) * (0.2 + math.sin(math.pi * hour / 24) ** 2)


def _plain_forecast(counts, first, end, weeks, day, hour, events=()):  # noqa: ANN001, ANN202
    """The documented model, written out with plain loops."""
    skip = {e.day for e in events}
    def profile_of(wd, h):  # noqa: ANN001, ANN202
        vals = [counts[(d, h)] for d in (end - timedelta(days=i) for i in range(1, 7 * weeks + 1))
                if d >= first and d.weekday() == wd and d not in skip and (d, h) in counts]
        vals.sort()
        if len(vals) >= 4:
            vals = vals[1:-1]
        return sum(vals) / len(vals)
    actual = expected = 0.0
    for i in range(1, 15):
        d = end - timedelta(days=i)
        if d in skip:
            continue
        for h in range(24):
            actual += counts[(d, h)]
            expected += profile_of(d.weekday(), h)
    level = min(2.0, max(0.5, actual / expected))
    factor = next((e.factor for e in events if e.day == day), 1.0)
    return profile_of(day.weekday(), hour) * level * factor


def test_forecast_matches_a_plain_loop():
    end = date(2026, 11, 16)  # a Monday; no statutory holiday in the 8 weeks before (holidays off anyway)
    hist, first = _history(8, _shape, 0.25, end)
    params = Params(history_weeks=8, holidays=False)
    model = fit(hist, params)
    for day in (end, end + timedelta(days=3), end + timedelta(days=5)):
        for hour in (3, 11, 20):
            assert model.predict(day, hour) == pytest.approx(
                _plain_forecast(hist.counts, first, end, 8, day, hour), rel=1e-9)


def test_noise_free_seasonality_is_recovered_and_growth_is_the_level():
    end = date(2026, 11, 16)
    growth = {end - timedelta(days=i): 1.3 for i in range(1, 15)}  # the last two weeks 30 % busier
    hist, _ = _history(8, _shape, 0.0, end, boost=growth)
    model = fit(hist, Params(history_weeks=8, holidays=False))
    # The trimmed mean of 8 weeks drops one 1.3 week and one 1.0 week: profile = shape × (1 + 0.3/6);
    # the level is the last two weeks over it.
    expected_level = 1.3 / (1 + 0.3 / 6)
    assert model.level == pytest.approx(expected_level, rel=0.01)
    for hour in (0, 12):
        assert model.predict(end, hour) == pytest.approx(round(_shape(0, hour) * 1.3), rel=0.02, abs=0.6)


def test_trimmed_mean():
    assert trimmed_mean([]) is None
    assert trimmed_mean([1, 2, 30]) == 11
    assert trimmed_mean([1, 2, 3, 100]) == 2.5


# -- promotion days ----------------------------------------------------------------------------------------

def test_promotion_scales_its_day_and_past_ones_leave_the_baseline():
    end = date(2026, 11, 16)
    past = end - timedelta(days=5)  # a Wednesday at ×5 in history
    plain, _ = _history(8, _shape, 0.1, end, seed=4)
    spiked, _ = _history(8, _shape, 0.1, end, seed=4, boost={past: 5.0})
    future = end + timedelta(days=2)  # Wednesday
    listed = Params(history_weeks=8, holidays=False, events=(Event(past, 5.0, "旧活动"), Event(future, 3.0, "双11")))
    unlisted = Params(history_weeks=8, holidays=False)
    base = fit(plain, Params(history_weeks=8, holidays=False, events=(Event(past, 5.0),)))
    promo = fit(spiked, listed)
    for hour in (10, 21):
        assert promo.predict(future, hour) == pytest.approx(3.0 * base.predict(future, hour), rel=1e-9)
        assert promo.predict(future + timedelta(days=7), hour) == pytest.approx(base.predict(future, hour), rel=1e-9)
    # Not listed, the ×5 day inflates the level (the trimmed mean alone drops it from the profile).
    assert fit(spiked, unlisted).level > promo.level * 1.1
    assert promo.level == pytest.approx(_plain_forecast(spiked.counts, plain.first_day, end, 8, future, 10,
                                                        listed.events) / 3.0 / promo.table[(2, 10)], rel=1e-9)


# -- holidays ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("day, expected", [
    (date(2026, 10, 1), 6),  # 国庆, a Thursday: the 周日 profile
    (date(2026, 10, 10), 4),  # a Saturday worked for 国庆 (调休): 周五's
    (date(2026, 10, 12), 0),  # an ordinary Monday
    (date(2027, 10, 1), 4),  # a year the calendar does not know: its plain weekday (a Friday)
])
def test_holiday_profiles(day, expected):
    assert day_types.profile(day) == expected
    assert day_types.profile(day, holidays=False) == day.weekday()


# -- roster counting and measured handle time / concurrency ------------------------------------------------

def _brute_scheduled(shifts, start, hours):  # noqa: ANN001, ANN202
    """Minute by minute: agents (each once) on shift, averaged over each hour."""
    out = []
    for h in range(hours):
        total = 0
        for m in range(60):
            t = start + timedelta(hours=h, minutes=m, seconds=30)
            total += len({a for a, s, e in shifts if s <= t < e})
        out.append(total / 60)
    return out


def test_roster_counts_agents_per_hour():
    local = datetime(2026, 12, 4, tzinfo=TZ)
    shifts = [("小王", local + timedelta(hours=9), local + timedelta(hours=18)),
              ("小王", local + timedelta(hours=17), local + timedelta(hours=20)),  # overlaps her own shift
              ("小李", local + timedelta(hours=9, minutes=30), local + timedelta(hours=12)),
              ("阿明", local - timedelta(hours=2), local + timedelta(hours=6)),  # a night shift from the day before
              ("小周", local + timedelta(hours=22), local + timedelta(hours=30))]  # into the next day
    start = local.astimezone(UTC)
    counted = count_scheduled(shifts, start, start + timedelta(days=1), TZ)
    brute = _brute_scheduled(shifts, local, 24)
    assert [counted[(date(2026, 12, 4), h)] for h in range(24)] == pytest.approx(brute)
    assert counted[(date(2026, 12, 4), 9)] == pytest.approx(1.5)


def test_handle_time_and_concurrency_from_rows():
    t0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
    rows = []
    for i in range(40):  # 小王: two chats at a time, back to back, each 600 s after a 20 s first response
        begin = t0 + timedelta(seconds=600 * (i // 2))
        rows.append(("小王", begin - timedelta(seconds=20), begin + timedelta(seconds=600), 20.0))
    rows.append(("小李", t0, t0 + timedelta(hours=9), 5.0))  # left open all day: not a handled chat
    seen = observe(rows)
    assert seen.sample == 40
    assert seen.handle_seconds == pytest.approx(600.0)
    assert seen.concurrency == pytest.approx(2.0)
    assert observe(rows[:10]).handle_seconds is None  # too few to measure


# -- which days a question means ---------------------------------------------------------------------------

@pytest.mark.parametrize("phrase, first, n", [
    ("明天", date(2026, 12, 4), 1),
    ("", date(2026, 12, 4), 1),
    ("后天", date(2026, 12, 5), 1),
    ("下周", date(2026, 12, 7), 7),  # the next Monday to Sunday
    ("未来三天", date(2026, 12, 4), 3),
    ("明天 够吗", date(2026, 12, 4), 1),  # free text: "明天人手够吗" leaves these words
    ("下周要排几个人", date(2026, 12, 7), 7),
])
def test_horizon(phrase, first, n):
    got = horizon(phrase, datetime(2026, 12, 3, 15, tzinfo=TZ), TZ)
    assert got[:2] == (first, n)


@pytest.mark.parametrize("phrase", ["上周", "昨天", "未来30天", "下个月", "明天还是下周"])
def test_horizon_refuses_in_chinese(phrase):
    with pytest.raises(StaffingError, match="排班"):
        horizon(phrase, datetime(2026, 12, 3, 15, tzinfo=TZ), TZ)
