"""The shared kernel: settings, database, ids, clock, errors, paging, jobs, audit, logging and metrics.

`core` imports no component; components import `core`.
"""
