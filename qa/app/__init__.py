"""The web layer: the chat page and the JSON API, served by waitress (``qa serve``).

Modules: ``app`` (the Flask app and its page/error handling), ``api`` (the ``/api`` blueprint and
request validation), ``openapi`` (the API description), ``responses`` (the one error shape and the
security headers), ``reload`` (following a newly published index), ``serve`` (waitress, access
log, port errors) and ``wsgi_errors`` (waitress' own errors in the JSON shape). The chat page
itself lives in the top-level ``web/`` folder, installed as the package ``qa_web`` (docs/frontend.md).
"""

from qa.app.app import create_app
from qa.app.responses import CSP

__all__ = ["CSP", "create_app"]
