"""The web layer: the chat page and the JSON API, served by waitress (``qa serve``).

Modules: ``app`` (the app factory: settings, service, blueprints, page, error handlers), the
blueprints ``api`` (``/api``), ``chat`` (conversations over HTTP, ``/api/ask/stream``) and
``openai`` (``/v1``), ``openapi`` (+ ``openapi_chat``: the API description), ``body`` (JSON bodies,
the service), ``responses`` (the one error shape and the security headers), ``reload`` (following a
newly published index), ``serve`` (waitress, access log, port errors) and ``wsgi_errors``
(waitress' own errors in the JSON shape), and the guards of docs/security.md: ``connguard``
(connections), ``hosts`` (Host check), ``proxies`` (X-Forwarded-For). Requests are checked by ``qa.request``.
"""

from qa.app.app import create_app
from qa.app.responses import CSP

__all__ = ["CSP", "create_app"]
