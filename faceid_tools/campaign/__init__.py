"""Probe campaigns: regions × levels × calls per cell at the quota, every sequence inspected.

``run_campaign`` is the entry point (``faceid-tools probe`` is a thin layer over it); ``Plan``
is the randomised, blocked order; ``CampaignResult`` carries the campaign id and its ``Summary``.  ``run_campaign(...,
until_decided=True)`` runs until every cell is decided (``campaign.adaptive`` picks the cells);
``faceid_tools.live.watch`` shows one live in a notebook.  The command that decides a review's
open cells is ``faceid_tools.report.present.probe_command`` (over ``analysis.probe_plan``).
"""

from .plan import Plan, PlanEntry
from .runner import CampaignResult, run_campaign
from .summary import Summary

__all__ = [
    "CampaignResult",
    "Plan",
    "PlanEntry",
    "Summary",
    "run_campaign",
]
