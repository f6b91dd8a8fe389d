"""The web service: a JSON API over the library and a what-if dashboard (``talentmarket serve``).

``create_app(db=..., token=...)`` builds the FastAPI application; ``Limits`` holds the caps on
what one request may ask. The routes, their shapes and errors are described in the app's
OpenAPI spec (``/openapi.json``) and in :mod:`talentmarket.api._app`.
"""

from __future__ import annotations

from talentmarket.api._app import create_app
from talentmarket.api._jobs import JOB_KINDS, JobKind, register_job_kind
from talentmarket.api._schemas import DEFAULT_LIMITS, Limits

__all__ = ["DEFAULT_LIMITS", "JOB_KINDS", "JobKind", "Limits", "create_app", "register_job_kind"]
