"""The WSGI entry point for gunicorn: ``gunicorn dashboard.wsgi:server``.

Each worker imports this module after the fork, so each opens its own connection pool.
"""

from dashboard.app import create_app

app = create_app()
server = app.server
