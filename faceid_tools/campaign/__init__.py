"""Probe campaigns: regions × levels × calls per cell at the quota, every sequence inspected.

``run_campaign`` is the entry point (``faceid-tools probe`` is a thin layer over it); ``Plan``
is the randomised, blocked order; ``CampaignResult`` carries the campaign id and its ``Summary``.
"""

from .plan import Plan, PlanEntry
from .runner import CampaignResult, run_campaign
from .summary import Summary

__all__ = ["CampaignResult", "Plan", "PlanEntry", "Summary", "run_campaign"]
