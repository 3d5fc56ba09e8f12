"""Erlang C: the probability that a chat waits, the service level, and the servers a target needs.

Pure functions of the offered load ``A = λ × handle time`` (Erlangs) and the number of servers ``c``.
Erlang B is computed by its recursion ``B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1))``, which stays in
[0, 1] for any ``c`` (no factorials, no powers: 1,000 servers at 950 Erlangs are as stable as 3 at 2);
Erlang C follows from it, ``C = c·B / (c − A·(1 − B))``. The service level — the share of arrivals
answered within ``t`` — is ``1 − C·exp(−(c − A)·t / h)`` for an M/M/c queue with mean service time ``h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_SERVERS = 100_000  # a guard against a runaway search; a real hour needs far fewer


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of ``servers`` servers offered ``load`` Erlangs (the recursion, stable)."""
    if servers < 0 or load < 0:
        raise ValueError("servers and load must be non-negative")
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival has to wait (all ``servers`` busy); 1.0 when ``load ≥ servers``."""
    if load <= 0:
        return 0.0
    if servers <= load:
        return 1.0
    b = erlang_b(servers, load)
    return _c_from_b(servers, load, b)


def _c_from_b(servers: int, load: float, b: float) -> float:
    return servers * b / (servers - load * (1.0 - b))


def service_level(servers: int, load: float, answer_seconds: float, handle_seconds: float) -> float:
    """Share of arrivals answered within ``answer_seconds`` (0.0 when the queue is unstable)."""
    if load <= 0:
        return 1.0
    if servers <= load:
        return 0.0
    c = erlang_c(servers, load)
    return 1.0 - c * math.exp(-(servers - load) * answer_seconds / handle_seconds)


def mean_wait(servers: int, load: float, handle_seconds: float) -> float:
    """Average speed of answer in seconds (inf when the queue is unstable)."""
    if load <= 0:
        return 0.0
    if servers <= load:
        return math.inf
    return erlang_c(servers, load) * handle_seconds / (servers - load)


@dataclass(frozen=True)
class Staffing:
    """What one interval needs: ``servers`` chat slots, ``agents`` people, and what that achieves."""

    load: float  # Erlangs (chat slots busy on average)
    servers: int
    agents: int
    service_level: float
    wait_probability: float
    occupancy: float  # load / servers


def servers_needed(load: float, target: float, answer_seconds: float, handle_seconds: float) -> int:
    """The fewest servers whose service level reaches ``target``: one pass of the Erlang B recursion
    from 1 upwards, each step giving the next ``c``'s service level."""
    if not 0 < target < 1:
        raise ValueError("target service level is a share in (0, 1)")
    if load <= 0:
        return 0
    b = 1.0
    for c in range(1, MAX_SERVERS + 1):
        b = load * b / (c + load * b)
        if c <= load:
            continue
        wait = _c_from_b(c, load, b)
        if 1.0 - wait * math.exp(-(c - load) * answer_seconds / handle_seconds) >= target:
            return c
    raise ValueError(f"more than {MAX_SERVERS} servers needed for {load:.0f} Erlangs")


def staffing(arrivals_per_hour: float, handle_seconds: float, *, target: float = 0.8, answer_seconds: float = 30.0,
             concurrency: float = 1.0) -> Staffing:
    """Agents needed in an hour with ``arrivals_per_hour`` chats of mean ``handle_seconds``, when each agent
    serves ``concurrency`` chats at once (an agent = that many servers; see docs/staffing.md)."""
    if handle_seconds <= 0 or concurrency < 1:
        raise ValueError("handle time must be positive and concurrency at least 1")
    load = max(0.0, arrivals_per_hour) * handle_seconds / 3600.0
    servers = servers_needed(load, target, answer_seconds, handle_seconds)
    if servers == 0:
        return Staffing(0.0, 0, 0, 1.0, 0.0, 0.0)
    agents = math.ceil(servers / concurrency - 1e-9)
    slots = max(servers, math.floor(agents * concurrency + 1e-9))  # what the agents really provide
    return Staffing(load, slots, agents, service_level(slots, load, answer_seconds, handle_seconds),
                    erlang_c(slots, load), load / slots)


__all__ = ["Staffing", "erlang_b", "erlang_c", "mean_wait", "servers_needed", "service_level", "staffing"]
