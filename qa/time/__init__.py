"""Time in the archive: dates in questions and in article text, the period index, timelines.

* ``qa.time.patterns`` / ``qa.time.grammar`` — one grammar of Chinese time expressions;
* ``qa.time.question`` — a question's period (``parse_date_range``, resolved ``as_of`` a day);
* ``qa.time.mentions`` — periods an article speaks of (``extract_periods``, against its issue date);
* ``qa.time.period_index`` — per-row periods as numpy arrays, queried without reading text;
* ``qa.time.timeline`` — coverage over time and the detection of timeline questions.
"""
