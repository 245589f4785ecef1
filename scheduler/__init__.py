"""The scheduled service (APScheduler 3): job functions in ``jobs.py``, the scheduler process in ``service.py``.

Not built yet: until it is, run the stages by hand or from cron (`jobtrend crawl && jobtrend analyze &&
jobtrend trends`). See the open issue for the service.
"""
