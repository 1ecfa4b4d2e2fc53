"""Chinese text, shared by every stage: ``chinese`` (sentence ends and splitting, wrapped-line joining,
n-grams, ISO dates), ``normalize`` (what a page's text becomes before anything reads it) and ``tokens``
(jieba words for BM25 and the POS tokenizer the chat uses)."""
