"""Exports over HTTP: ETag and Last-Modified from an export's cheap version, 304 without building, HEAD. ICS here;
other feeds (the news' Atom feed) answer through `conditional_response` with their own content type."""
from __future__ import annotations

from flask import Response, request

from cme.calendar.service import Export


def conditional_response(export: Export, *, cache: str, content_type: str,
                         disposition: str | None = None) -> Response:
    """The export, or 304 when the client's ETag (or, without one, its If-Modified-Since) is still current."""
    headers = {"ETag": f'"{export.etag}"', "Cache-Control": cache, "Vary": "Accept-Encoding"}
    last_modified = export.last_modified.replace(microsecond=0)
    not_modified = request.if_none_match.contains(export.etag) if request.if_none_match else (
        request.if_modified_since is not None and last_modified <= request.if_modified_since)
    if not_modified:
        response = Response(status=304, headers=headers)
    else:
        body_headers = {**headers, "Content-Type": content_type}
        if disposition:
            body_headers["Content-Disposition"] = f'{disposition}; filename="{export.filename}"'
        response = Response(export.build(), headers=body_headers)
    response.last_modified = last_modified
    return response


def ics_response(export: Export, *, cache: str, disposition: str = "inline") -> Response:
    return conditional_response(export, cache=cache, content_type="text/calendar; charset=utf-8",
                                disposition=disposition)
