"""The Milvus store (``--backend URI``): ``client`` (connections, collections, aliases), ``writer``
(one collection per version), ``reader`` (the ask path's reader) and ``build`` (a build into Milvus)."""
