"""Finding passages for a question: ``scope`` (query text, period, allowed rows, refusal) and ``search``
(hybrid BM25 + dense search, rank fusion, duplicate collapsing). The scoring itself lives with the
index format in ``qa.store.folder`` (``bm25``, ``dense``)."""
