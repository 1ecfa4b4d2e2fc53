"""Question answering over a Chinese newspaper archive, with citations to issue date, page and headline."""

__version__ = "0.1.0"
