"""Plain dataclasses that cross module lines: Page -> Article -> Chunk -> Hit -> Answer.

Dates are ISO strings ``YYYY-MM-DD`` everywhere; pages are 1-based ints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Page:
    """One printed page (版) of one issue, or one JSONL article export treated as its own page.

    ``page_id`` is the stable identity of the page in the index: the source path for page
    files (``seeds/000_4456a7331ac78358.txt``), ``<jsonl path>#<id or line number>`` for JSONL.
    ``root`` is the PATH given to ``qa index`` that the page was found under; a page whose
    file disappears from under that root is dropped from the next index version.
    ``articles`` is pre-filled only for JSONL exports (one article each); page files get
    theirs from ``qa.ingest.segment.segment_page``.

    How the page was read (``qa.ingest``; shown by ``qa inspect``): ``read_as`` is "text" (a
    text file), "pdf" (a PDF text layer), "ocr" (an image or image-only PDF page) or "jsonl".
    ``roles`` has one entry per line of ``text`` when the page was laid out from positions:
    "pre"/"head"/"sub" for lines set in headline type (引题/主题/副题), "text" for body type,
    "" where the type size tells nothing; empty for text files. ``columns`` is the number of
    text columns found, ``ocr_confidence`` the mean recogniser confidence of the page's lines,
    ``low_confidence`` the lines below the threshold (kept in ``text``, listed here with their
    confidence), ``seconds`` the reading time and ``note`` anything the reader wants said
    (「OCR 结果来自缓存」).

    Corrections (``qa.store.overlay``): ``printed`` holds the articles as read when corrections
    changed ``articles`` (regions are found from the printed text), and ``image_file`` the file a
    moved article's own page shows (the page it was printed on); both None otherwise.
    """

    page_id: str
    paper: str
    date: str
    page: int | None
    text: str
    source: str
    root: str = ""
    page_name: str | None = None
    issue_no: str | None = None
    articles: list[Article] = field(default_factory=list)
    read_as: str = "text"
    roles: list[str] = field(default_factory=list)
    columns: int | None = None
    ocr_confidence: float | None = None
    low_confidence: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str | None = None
    frame: PageFrame | None = None
    printed: list[Article] | None = None
    image_file: str | None = None


@dataclass
class PageFrame:
    """Where the text of a page file sits on its image, for page images and cited regions.

    ``kind`` is "pdf" (the first PDF page, rendered on request) or "image" (the first frame of a
    scan); ``width``/``height`` its size (PDF points, image pixels); ``lines`` one
    ``(text, x0, y0, x1, y1)`` per printed line, in fractions of the width and height, origin top
    left. Only the first frame of a multi-page file is described. Text files and JSONL have none.
    """

    kind: str
    width: float
    height: float
    lines: list[tuple[str, float, float, float, float]] = field(default_factory=list)


@dataclass
class Article:
    """One article on a page, or an untitled section where the split was uncertain.

    ``article_id`` is stable for the same page text: ``<page_id>#a<ordinal>`` for segmented
    pages, the export's own ``id`` for JSONL. ``body`` is the article text without title and
    byline, paragraphs joined with ``\\n``. ``refs`` holds cross-page references
    (「下转第7版」); ``captions`` photo captions.
    """

    article_id: str
    title: str | None
    body: str
    pre_title: str | None = None
    subtitle: str | None = None
    byline: str | None = None
    captions: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        """Title with 引题/副题, as shown in citations: 「问需于企 精准滴灌——聊城…」 -> title only here."""
        return self.title or ""

    def char_count(self) -> int:
        """Non-whitespace characters this article accounts for (title, byline, body, captions, refs)."""
        parts = [self.pre_title, self.title, self.subtitle, self.byline, self.body, *self.captions, *self.refs]
        return sum(len("".join((p or "").split())) for p in parts)


@dataclass
class Skipped:
    """A file (or line) that could not be read, with the reason in plain Chinese."""

    source: str  # as the user knows it: relative to the archive, never an absolute server path
    reason: str
    line: int | None = None
    path: str | None = field(default=None, repr=False, compare=False)  # the file on the server (internal use)

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.reason}"


@dataclass
class Chunk:
    """A retrievable passage: a few sentences of one article, embedded with its title as context."""

    chunk_id: str
    article_id: str
    page_id: str
    ordinal: int
    text: str
    title: str | None


@dataclass
class Citation:
    paper: str
    date: str
    issue_no: str | None
    page: int | None
    page_name: str | None
    title: str | None
    article_id: str
    source: str
    # the page's image (``/api/pages/<key>/image``) and the article's boxes on it as [x0, y0, x1, y1]
    # fractions, the passage's own lines first (``passage_regions`` of them); None: no image known
    page_image: str | None = None
    regions: list[list[float]] | None = None
    passage_regions: int = 0

    def label(self) -> str:
        """``聊城日报 2026-04-01 第1版《问需于企 精准滴灌》`` — the human citation line."""
        page = f" 第{self.page}版" if self.page is not None else ""
        name = f" {self.page_name}" if self.page_name else ""
        title = f"《{self.title}》" if self.title else ""
        return f"{self.paper} {self.date}{page}{name}{title}"

    @classmethod
    def from_record(cls, rec: dict) -> Citation:
        """The citation of a chunk record as a store's reader returns it (``chunk_records``)."""
        key = rec.get("image_key")
        return cls(
            rec["paper"],
            rec["date"],
            rec.get("issue_no"),
            rec.get("page"),
            rec.get("page_name"),
            rec.get("title"),
            rec["article_id"],
            rec["source"],
            page_image=f"/api/pages/{key}/image" if key else None,
            regions=rec.get("regions"),
            passage_regions=int(rec.get("passage_regions") or 0),
        )


@dataclass
class Hit:
    """A retrieved passage with its fused score. ``row`` is the chunk's position in the index."""

    row: int
    chunk_id: str
    score: float
    text: str
    citation: Citation
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None  # cosine similarity question·passage, when the dense search found it
    bm25_score: float | None = None
    # why it matched the question's period: {"kind": "printed"} or {"kind": "speaks_of", "phrase": "今年上半年"}
    period_match: dict | None = None

    @classmethod
    def from_record(cls, rec: dict, score: float = 0.0, **ranks) -> Hit:
        """A hit for a chunk record (``chunk_records``) with its score and, from a search, its ranks."""
        return cls(int(rec["row"]), rec["chunk_id"], float(score), rec["text"], Citation.from_record(rec), **ranks)


@dataclass
class Filters:
    date_from: str | None = None
    date_to: str | None = None
    paper: str | None = None
    page: int | None = None

    def is_empty(self) -> bool:
        return not any(v is not None for v in asdict(self).values())


@dataclass
class Answer:
    """What ``qa ask --json`` prints and ``POST /api/ask`` returns (see DESIGN.md)."""

    question: str
    answer: str
    found: bool
    filters: Filters
    passages: list[Hit]
    took_ms: float
    index_version: str
    # why found is False: "not_found" (nothing relevant) or "out_of_archive" (asked period not held);
    # clients render refusals from this kind, never by matching the answer text
    refusal: str | None = None
    timeline: dict | None = None  # coverage questions: counts per month/year, first and last report
    # multi-part and list questions (docs/multipart.md): one entry per part, {"question", "answer", "found",
    # "refusal", "filters", "passages": [card numbers, 1-based]} (+ "items" for a list question)
    parts: list[dict] | None = None

    def refusal_kind(self) -> str | None:
        """None when found; else the refusal kind, ``not_found`` unless one was set."""
        if self.found:
            return None
        return self.refusal or "not_found"

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "found": self.found,
            "refusal": self.refusal_kind(),
            "filters": asdict(self.filters),
            "passages": [
                {
                    "n": n,
                    "score": round(h.score, 4),
                    "text": h.text,
                    "citation": asdict(h.citation),
                    **({"period_match": h.period_match} if h.period_match else {}),
                }
                for n, h in enumerate(self.passages, start=1)
            ],
            **({"timeline": self.timeline} if self.timeline is not None else {}),
            **({"parts": self.parts} if self.parts is not None else {}),
            "took_ms": round(self.took_ms, 1),
            "index_version": self.index_version,
        }


@dataclass
class Turn:
    """One earlier turn as a client or the server keeps it.

    ``sources`` are citation labels (「聊城日报 2026-04-01 第1版《…》」) for turns known only from
    their text (OpenAI messages), where ``article_ids`` are unknown.
    """

    question: str
    answer: str = ""
    resolved_question: str | None = None
    article_ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None
    paper: str | None = None

    @property
    def topic(self) -> str:
        return self.resolved_question or self.question
