"""A build's BM25 and date analysis in its early worker process gives what in-process analysis gives."""

from __future__ import annotations

from qa.store.folder import analysis
from qa.text import tokens as tok

TEXTS = ["昨天聊城召开防汛工作会议，部署今年汛期工作。", "今年上半年，东昌府区新增专精特新企业12家。"]
DATES = ["2025-07-29", "2025-08-01"]


def started(monkeypatch) -> analysis.Analyser:
    monkeypatch.setattr(tok, "loaded", lambda: False)  # as in a fresh `qa index` process
    a = analysis.Analyser(workers=2)
    a.start()
    assert a._early is not None, "a fresh process with two cores starts the early worker"
    return a


def test_the_early_worker_analyses_like_this_process(monkeypatch):
    a = started(monkeypatch)
    try:
        tokens, periods = a.submit(TEXTS, DATES)()
    finally:
        a.close()
    assert (tokens, periods) == analysis.analyse(TEXTS, DATES)
    assert "防汛" in tokens[0] and [str(p.start) for p in periods[0]][:1] == ["2025-07-28"]


def test_a_killed_worker_costs_nothing_but_time(monkeypatch):
    a = started(monkeypatch)
    a._early.proc.kill()
    a._early.proc.wait()
    try:
        assert a.submit(TEXTS, DATES)() == analysis.analyse(TEXTS, DATES)
    finally:
        a.close()


def test_a_process_with_jieba_loaded_or_one_core_analyses_in_process(monkeypatch):
    monkeypatch.setattr(tok, "loaded", lambda: True)
    a = analysis.Analyser(workers=2)
    a.start()
    assert a._early is None
    monkeypatch.setattr(tok, "loaded", lambda: False)
    one = analysis.Analyser(workers=1)
    one.start()
    assert one._early is None
