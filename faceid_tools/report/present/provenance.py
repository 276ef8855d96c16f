"""The block a page opens with: what its data is, in words (the figures:
:func:`faceid_tools.analysis.provenance`)."""

from __future__ import annotations

from typing import Any

from ...analysis.provenance import Provenance
from ...analysis.provenance import provenance as _provenance

__all__ = ["provenance_facts", "provenance_markdown"]


def _data_name(p: Provenance) -> str:
    if p.data_kind == "sample":
        return f"the sample call log packaged with faceid-tools {p.sample_version}"
    if p.data_kind == "dataset":
        return f"{p.data_name} (Parquet dataset folder)"
    return p.data_name if p.data_kind == "file" else "a call-log DataFrame"


def _service(p: Provenance) -> str:
    if p.all_simulated:
        return "emulator behaviour profile, simulated: no request reached any service"
    if not p.endpoints:
        return "unknown (no endpoint logged)"
    if p.loopback_endpoints == p.endpoints:
        return "emulator on loopback (profile not recorded in the log)"
    if p.loopback_endpoints:
        return "mixed: the real service and the emulator"
    return "the real service (" + ", ".join(p.endpoints[:3]) + ")"


def _simulated(p: Provenance) -> str:
    if p.simulated_attempts == 0:
        return "no: every row is a real HTTP exchange"
    if p.all_simulated:
        return "yes: drawn by faceid-tools simulate (no HTTP)"
    return f"partly: {p.simulated_attempts:,} of {p.logged_attempts:,} attempts simulated"


def provenance_facts(p: Provenance) -> list[tuple[str, str]]:
    """``(label, value)`` pairs, in the order a page shows them."""
    if p.first is None or p.last is None:
        span = "no calls"
    elif p.first.date() == p.last.date():
        span = f"{p.first:%Y-%m-%d %H:%M} – {p.last:%H:%M} UTC"
    else:
        span = f"{p.first:%Y-%m-%d %H:%M} – {p.last:%Y-%m-%d %H:%M} UTC"
    campaigns = ", ".join(p.campaigns[:4]) or "none (no calls)"
    if len(p.campaigns) > 4:
        campaigns += f" and {len(p.campaigns) - 4} more"
    written = ", ".join(p.log_versions) or "unknown"
    return [
        ("Data", _data_name(p)),
        ("Campaigns", campaigns),
        ("Time span", span),
        (
            "Counted",
            f"{p.calls:,} calls · {p.attempts:,} attempts · {p.downloads:,} sequence downloads",
        ),
        (
            "Regions × levels",
            f"{len(p.regions)} × {len(p.levels)}: {', '.join(p.regions) or '—'}"
            f" × levels {', '.join(p.levels) or '—'}",
        ),
        ("Service", _service(p)),
        ("Simulated", _simulated(p)),
        ("Toolkit", f"faceid-tools {p.toolkit} (log written by {written})"),
    ]


def provenance_markdown(data: Any, source: Any = None) -> str:
    """The block as Markdown (a bulleted list of facts) for ``data`` — a :class:`Provenance`,
    or what :func:`faceid_tools.analysis.provenance` takes (``source``: its resolved source)."""
    p = data if isinstance(data, Provenance) else _provenance(data, source)
    return "\n".join(f"- **{label}:** {value}" for label, value in provenance_facts(p))
