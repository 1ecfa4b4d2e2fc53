"""The Milvus store (``--backend URI``): ``client`` (connections, names, schemas), ``versions`` (the live
collection and version, recovery, retiring and dropping rows), ``plan`` (what a build changes, from
the live page fingerprints), ``writer`` (inserts), ``reader`` (the ask path's reader) and ``build``."""
