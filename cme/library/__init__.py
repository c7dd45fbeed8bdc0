"""The library: session materials (slides), abstracts, highlights, news, topic pages and full-text search."""
