"""The TAXII 2.1 server (``server.py``), one module per concern, as medallion has one view
module per resource:

- ``media``: the media types a client accepts and sends, and the answer's own;
- ``params``: the query parameters, checked; ``errors``: TAXII error messages;
- ``context``: what every endpoint is given, and the checks they share (the API root and
  collection of a path, the caller's rights); ``paging``: listings and their cursors;
- the endpoints by resource: ``discovery`` (discovery, API roots), ``collections``,
  ``manifest``, ``objects``, ``versions``, ``status``.

Every endpoint is served through the request pipeline (``diapason.http.pipeline``).
"""

from diapason.exchange.taxii.errors import taxii_error
from diapason.exchange.taxii.server import TaxiiServer

__all__ = ["TaxiiServer", "taxii_error"]
