"""The archive team's daily work, with no HTTP: ``accounts`` (users, roles, API tokens, sessions and
the audit log), ``ingest_job`` (index new issue folders and say what came of each file), ``inbox``
(a folder the server ingests by itself, crash-safe), ``feedback`` (👍/👎 on answers) and
``corrections`` (an editor's fixes to an article, the original kept). The routes are in ``qa.app``."""
