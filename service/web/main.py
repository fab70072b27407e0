"""Mounts the recruiter's pages: the form at ``/trust``, each report, and its dispute form.

Pages are not part of the versioned API (they are left out of OpenAPI); the
app includes them after the API's routers (``api/main.py``).
"""

from __future__ import annotations

from fastapi import APIRouter

from trueclout.service.web import disputes, pages

PAGE_ROUTERS: tuple[APIRouter, ...] = (pages.router, disputes.router)
