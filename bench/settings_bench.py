"""The product's settings plus the bench-only bare view.

Used by ``bench/lifecycle_http.py`` so gunicorn serves the API and the
baseline view from the same workers, database and middleware. With
``BENCH_PROFILE`` set (``sql`` or ``cprofile``) the bench's profiling
middleware wraps every request (``bench/profiling.py``); without it the
middleware stack is the product's, unchanged.
"""

import os

from smartapproval.settings import *  # noqa: F403
from smartapproval.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "bench.bare_view.apps.BareViewConfig"]
ROOT_URLCONF = "bench.bare_view.urls"

if os.environ.get("BENCH_PROFILE"):
    MIDDLEWARE = ["bench.profiling.ProfileMiddleware", *MIDDLEWARE]
