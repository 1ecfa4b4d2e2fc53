"""The index folder format (the default store): versions of immutable segments on disk.

``layout`` owns names, the format number, sealing, the lock and publishing; ``writer`` writes a
segment (``dense`` vectors, ``bm25`` postings via ``postings``, periods, SQLite); ``segment`` and
``reader`` read them back; ``batch`` streams chunks into new segments; ``version``, ``merge`` and
``livepages`` compose versions, merge size tiers and find live pages.
"""
