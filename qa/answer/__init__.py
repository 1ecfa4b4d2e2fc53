"""Answers from passages, with no HTTP: the extractive answer, coverage and timelines, conversations,
and the optional LLM answer checked sentence by sentence.

Modules: ``extract`` (sentences that answer, with ``[n]`` markers and an evidence threshold),
``merge_parts`` (the answers to a question's parts, merged),
``coverage`` (first/last/how many, timelines), ``followup`` (how a follow-up is understood, no LLM),
``conversations`` (bounded, expiring, in memory), ``turns`` (one chat turn end to end), ``llm``
(OpenAI-compatible client with a deadline), ``local_llm`` (a local llama.cpp server for tests and
benchmarks), ``prompt`` (passages as delimited data, cleaned of text that steers a model, sized to
its context), ``grounded`` (check, refusal, fallback) and ``verify`` (every sentence of an LLM
answer checked against the passage it cites). The HTTP side is ``qa.app``.
"""
