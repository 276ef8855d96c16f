"""Campaign throughput at the quota.

A campaign at rate 5.0 against an emulator in real time (its quota enforced, 5/s in a sliding
one-second window), with the default profile and with ``high-latency`` (median 400 ms, p99 2.5 s),
run side by side, each in its own process with its own emulator.  Per run: calls/s achieved
(``(n - 1) / span`` of the GenerateReflectSequence starts logged; 300 calls ≈ 61 s), the most
starts in any one-second window (client-side, from ``started_at``), and ``RequestLimitExceeded``
answers (server-side, from the emulator's counters, and client-side from the log; they must agree).

SIGKILL-then-resume runs are in ``make reliability`` (``tests/reliability``), not here.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench._harness import Row
from faceid_tools.campaign import run_campaign
from faceid_tools.campaign.summary import achieved_rate, max_starts_in_window, parse_time
from faceid_tools.emulator.server import Emulator

PROFILES = ("default", "high-latency")


def throughput_once(profile: str, per_cell: int, workdir: Path) -> dict[str, float]:
    """One campaign at rate 5.0 against a fresh real-time emulator; its figures."""
    log = workdir / f"{profile}-{random.randrange(1 << 30)}.sqlite"
    load_before = os.getloadavg()[0]
    with Emulator(profile, time_scale=1.0) as emu:
        result = run_campaign(emu, per_cell=per_cell, rate=5.0, log=log, progress=False)
        stats = emu.stats()
    server_rle = sum(
        n
        for code, n in stats["outcomes"].get("GenerateReflectSequence", {}).items()
        if code.startswith("RequestLimitExceeded")
    )
    conn = sqlite3.connect(log)
    starts = [
        parse_time(t)
        for (t,) in conn.execute(
            "SELECT started_at FROM calls WHERE action = 'GenerateReflectSequence'"
            " AND campaign_id = ?",
            (result.campaign_id,),
        )
    ]
    conn.close()
    return {
        "rate": achieved_rate(starts),
        "span": max(starts) - min(starts),
        "calls": len(starts),
        "max_1s": max_starts_in_window(starts, 1.0),
        "rle_server": server_rle,
        "rle_log": result.summary.rate_limit_exceeded,
        "load": max(load_before, os.getloadavg()[0]),
    }


def run(quick: bool) -> list[Row]:
    decide_figures(3 if quick else 8)  # until-decided figures (no HTTP), printed first
    per_cell = 6 if quick else 25  # 72 calls ≈ 15 s, or 300 calls ≈ 61 s
    reps = 1 if quick else 3
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, list[dict[str, float]]] = {p: [] for p in PROFILES}
        # side by side, each in its own process: both see the same machine load
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(PROFILES), mp_context=spawn) as pool:
            for _ in range(reps):
                runs = {p: pool.submit(throughput_once, p, per_cell, Path(tmp)) for p in PROFILES}
                for profile, future in runs.items():
                    r = future.result()
                    print(f"  {profile}: {r}", file=sys.stderr, flush=True)
                    results[profile].append(r)
    group = f"campaign at rate 5.0 ({12 * per_cell} calls)"
    for profile in PROFILES:
        rs = results[profile]
        rows.append(
            Row(
                group,
                f"{profile}: calls/s",
                "calls/s",
                [r["rate"] for r in rs],
                baseline=None if profile == "default" else "default: calls/s",
                lower_is_better=False,
                note=f"span {min(r['span'] for r in rs):.1f}–{max(r['span'] for r in rs):.1f} s",
            )
        )
        rows.append(
            Row(
                group,
                f"{profile}: max starts in 1 s",
                "starts",
                [r["max_1s"] for r in rs],
                note="sliding window, any start time",
            )
        )
        rows.append(
            Row(
                group,
                f"{profile}: RequestLimitExceeded",
                "answers",
                [r["rle_server"] for r in rs],
                note=f"log agrees: {all(r['rle_log'] == r['rle_server'] for r in rs)};"
                f" 1-min load avg {min(r['load'] for r in rs):.1f}–{max(r['load'] for r in rs):.1f}"
                f" on {os.cpu_count()} cores",
            )
        )
    return rows


def decide_figures(seeds: int = 8, profiles: tuple[str, ...] = (*PROFILES, "reliable")) -> None:
    """Until-decided figures from ground-truth replays (no HTTP), printed side by side."""
    import numpy as np

    from faceid_tools.analysis.intervals import wilson_interval
    from faceid_tools.analysis.sequential import rate_cs
    from faceid_tools.campaign.adaptive import METRICS, Judge
    from faceid_tools.emulator.profile import Profile
    from faceid_tools.simulate import decide as sd

    for name in profiles:
        prof, judge = Profile.load_builtin(name), Judge(horizon=60_000)
        truth = sd.truth(prof, judge)
        n80 = {
            (c, m): sd.fixed_sample_size(truth[c][m], judge.p0[m], judge.alpha)
            / sd.units_per_call(prof, c, m)
            for c in sd.CELLS
            for m in METRICS
        }
        need = {k for k, v in n80.items() if v <= 20_000}
        spent_a, spent_u, full_a, full_u, ratio = [], [], [], [], []
        wrong = dict.fromkeys(n80, 0)
        for seed in range(seeds):
            streams = sd.Streams.draw(prof, judge, 40_000, seed)
            first = sd.first_decisions(streams, judge)
            decided = {k for k in need if first[k][0] != 0}
            spent_a.append(sd.adaptive(streams, judge, need=decided).spent)
            spent_u.append(sd.uniform(streams, judge, need=decided).spent)
            full_a.append(sd.adaptive(streams, judge, budget=18_000).fully_decided())
            full_u.append(sd.uniform(streams, judge, budget=18_000).fully_decided())
            ratio.append(sum(first[k][1] for k in decided) / sum(n80[k] for k in decided))
            for (cell, metric), (side, _) in first.items():
                bad = truth[cell][metric] > judge.p0[metric]
                wrong[(cell, metric)] += (side == -1 and bad) or (side == 1 and not bad)
        q = lambda xs: "/".join(f"{v:,.0f}" for v in np.percentile(xs, [25, 50, 75]))  # noqa: E731
        print(f"{name}: {len(need)} of 36 objectives decidable (fixed 80%-power n <= 20,000)")
        print(
            f"  calls to decide them, q1/median/q3: adaptive {q(spent_a)}  uniform {q(spent_u)}"
            f"  (median ratio {np.median(np.array(spent_a) / np.array(spent_u)):.2f})"
        )
        print(
            f"  cells fully decided in 18,000 calls (median): adaptive {np.median(full_a):.1f}"
            f"  uniform {np.median(full_u):.1f}"
        )
        print(
            f"  wrong verdicts per objective, worst share over {seeds} seeds:"
            f" {max(wrong.values()) / seeds:.3f}, mean {np.mean(list(wrong.values())) / seeds:.4f}"
            f" (each test at alpha/2 = {judge.alpha:.3f}; 30 seeds in tests/campaign)"
        )
        print(f"  mean calls per verdict / fixed-sample 80% power: {np.mean(ratio):.2f}")
        out_of_reach = sorted({f"{c[0]} L{c[1]} {m}" for (c, m), v in n80.items() if v > 20_000})
        print(
            f"  out of reach within 20,000 calls/cell: {len(out_of_reach)} objectives,"
            f" e.g. {out_of_reach[:2]}"
        )
    for n in (400, 4000):
        k = 0.05 * n
        lo, hi = rate_cs([k], [n])
        wlo, whi = wilson_interval(k, n)
        print(
            f"interval width anytime/fixed at n={n}, rate 5%: {(hi[0] - lo[0]) / (whi - wlo):.2f}"
        )


if __name__ == "__main__":
    decide_figures(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
