"""The product's settings plus the bench-only bare view.

Used by ``bench/lifecycle_http.py`` so gunicorn serves the API and the
baseline view from the same workers, database and middleware. With
``BENCH_PROFILE`` set (``sql`` or ``cprofile``) the bench's profiling
middleware wraps every request (``bench/profiling.py``); without it the
middleware stack is the product's, unchanged. ``BENCH_CONN_MAX_AGE`` and
``BENCH_SQLITE_SYNCHRONOUS`` change one database setting, for experiments
(``lifecycle_http.py --conn-max-age``, ``--sqlite-synchronous``).
"""

import os

from smartapproval.settings import *  # noqa: F403
from smartapproval.settings import DATABASES, INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "bench.bare_view.apps.BareViewConfig"]
ROOT_URLCONF = "bench.bare_view.urls"

if os.environ.get("BENCH_PROFILE"):
    MIDDLEWARE = ["bench.profiling.ProfileMiddleware", *MIDDLEWARE]

if os.environ.get("BENCH_CONN_MAX_AGE"):
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])
if os.environ.get("BENCH_SQLITE_SYNCHRONOUS"):
    options = DATABASES["default"]["OPTIONS"]
    options["init_command"] = options["init_command"].replace(
        "synchronous=NORMAL", f"synchronous={os.environ['BENCH_SQLITE_SYNCHRONOUS']}"
    )
