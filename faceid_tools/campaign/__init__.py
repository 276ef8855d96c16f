"""Probe campaigns: regions × levels × calls per cell at the quota, every sequence inspected.

``run_campaign`` is the entry point (``faceid-tools probe`` is a thin layer over it); ``Plan``
is the randomised, blocked order; ``CampaignResult`` carries the campaign id and its ``Summary``.  ``run_campaign(...,
until_decided=True)`` runs until every cell is decided (``campaign.adaptive`` picks the cells);
``faceid_tools.live.watch`` shows one live in a notebook; ``until_decided_plan`` gives a review the command that
decides its open cells, with the calls and time it is expected to take.
"""

from .decided import until_decided_plan
from .plan import Plan, PlanEntry
from .runner import CampaignResult, run_campaign
from .summary import Summary

__all__ = [
    "CampaignResult",
    "Plan",
    "PlanEntry",
    "Summary",
    "run_campaign",
    "until_decided_plan",
]
