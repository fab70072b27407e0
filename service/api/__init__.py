"""The HTTP API: one router per resource under ``api/routes``, mounted by ``api/main.py``.

Each versioned router declares ``APIRouter(prefix=API_PREFIX)`` itself, so
its routes carry their full path template (``/v1/score``), which metrics and
logs use as the route label.
"""

API_PREFIX = "/v1"
