"""`make bench`: PHI Guard and Cloud Custodian side by side, on the same drifts, in one moto server.

Development tooling only, never part of the Lambda package (functions/) nor of PHI Guard's runtime
dependencies: Custodian (c7n, pinned in the Makefile) lives in its own virtual environment under
build/bench and is driven through a subprocess (custodian_driver.py runs in its interpreter).

Modules: run (the orchestration, `python -m phiguard_local.bench`), report (rows, results.json, the
table), world (the moto server process and the sweep's account), phiguard_side and custodian_driver (each
tool's measurements, each in a fresh process), cold (import time, package size), counting and drift_ops
(shared by both sides: botocore request counting, the drifts and their read-back checks), policies/
(the Custodian policies, one per compared control).
"""
