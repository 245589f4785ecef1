"""The scheduled service (APScheduler 3): job functions in ``jobs.py``, the scheduler process in ``service.py``.

Run it with `jobtrend scheduler run` (docs/operations.md, "Running the scheduler").
"""
