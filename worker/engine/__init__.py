"""The adapter engine: models, adapters, data, training and evaluation as a plain library.

Nothing here imports web, database or queue code; the CLI and the Celery tasks are thin shells
on `worker.engine.runner.run_job`.
"""
