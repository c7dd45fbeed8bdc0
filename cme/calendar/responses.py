"""ICS over HTTP: ETag and Last-Modified from an export's cheap version, 304 without building, HEAD."""
from __future__ import annotations

from flask import Response, request

from cme.calendar.service import Export


def ics_response(export: Export, *, cache: str, disposition: str = "inline") -> Response:
    headers = {"ETag": f'"{export.etag}"', "Cache-Control": cache, "Vary": "Accept-Encoding"}
    last_modified = export.last_modified.replace(microsecond=0)
    not_modified = request.if_none_match.contains(export.etag) if request.if_none_match else (
        request.if_modified_since is not None and last_modified <= request.if_modified_since)
    if not_modified:
        response = Response(status=304, headers=headers)
    else:
        response = Response(export.build(), headers={
            **headers, "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": f'{disposition}; filename="{export.filename}"'})
    response.last_modified = last_modified
    return response
