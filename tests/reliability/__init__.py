"""The reliability suite: nothing lost, nothing leaked (issue 7).

Each module tries hard to break one property and records what it tried and what was lost:

=========================  =====================================================================
``test_faults``            the fault matrix: every wire fault, typed errors, one row per attempt,
                           the retry policy, campaigns running through the fault
``test_crashes``           SIGKILL ``faceid-tools probe`` at random moments, then ``--resume``
``test_concurrency``       4 processes × 8 threads logging into one SQLite file
``test_load``              a 16-thread flood of an emulator subprocess; the quota under flood
``test_hostile_client``    malformed calls to the client (property-based)
``test_hostile_emulator``  raw-socket junk and header floods to the emulator (property-based)
``test_hostile_files``     corrupt rows and files given to ``load_calls`` and ``export``
``test_secrets``           a demo-sized run with a session token, scanned for every secret
=========================  =====================================================================

``pytest tests/reliability -m "not slow"`` runs the fast subset (small counts, part of CI).
``python -m tests.reliability --out docs/reliability.md`` (``make reliability``) runs everything at
full counts (``FACEID_RELIABILITY_FULL=1``) and writes the table of figures measured in that run.
"""
