"""JSON logs through structlog: one event name plus fields, never personal data."""

import logging

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(level: str, *, access_log: bool = False) -> dict:
    """Return the stdlib logging dict that renders every record as JSON.

    Gunicorn's access lines are logged at INFO on ``gunicorn.access``; they
    pass only with ``access_log``, and come out as JSON through the root
    handler like every other record.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
                "foreign_pre_chain": _SHARED,
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.server": {"level": "WARNING"},
            "django.request": {"level": "ERROR"},
            "axes": {"level": "WARNING"},
            # Gunicorn turns propagation off when it sets up its own access
            # handler; Django's configuration removes that handler.
            "gunicorn.access": {
                "level": "INFO" if access_log else "WARNING",
                "propagate": True,
            },
            # SpiffWorkflow logs every task state change, with the task data
            # attached, whenever its logger has no level of its own.
            "spiff": {"level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    """Route structlog events through the stdlib handlers configured above."""
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        cache_logger_on_first_use=True,
    )
