"""Conversations over the archive: follow-up questions, server-kept conversations, the optional
grounded LLM answer and the OpenAI-compatible chat endpoint.

Modules: ``followup`` (how a follow-up is understood, no LLM), ``conversations`` (bounded,
expiring, in memory), ``llm`` (OpenAI-compatible client with a deadline), ``verify`` (every
sentence of an LLM answer checked against the passage it cites), ``prompt`` (passages as
delimited data, cleaned of text that steers a model, sized to its context), ``grounded`` (check,
refusal, fallback), ``local_llm`` (a real small model on this machine, for tests and benches),
``turns`` (one chat turn end to end), ``web_chat`` and ``openai_api`` (HTTP).
"""
