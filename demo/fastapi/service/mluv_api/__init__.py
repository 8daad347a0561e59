"""Mluv.Me-like API in the seed's own stack (FastAPI, asyncpg, Redis, Celery), the second demo target of loadlens."""
