"""Conversations over the archive: follow-up questions, server-kept conversations, the optional
grounded LLM answer and the OpenAI-compatible chat endpoint.

Modules: ``followup`` (how a follow-up is understood, no LLM), ``conversations`` (bounded,
expiring, in memory), ``llm`` (OpenAI-compatible client with a deadline), ``verify`` (every
sentence of an LLM answer checked against the passage it cites), ``grounded`` (prompt, check,
fallback), ``turns`` (one chat turn end to end), ``web_chat`` and ``openai_api`` (HTTP).
"""
