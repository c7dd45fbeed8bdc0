"""Text that goes where a line break cannot: the one home of what "single-line" and "no control characters" mean.

Forms apply these to what people type (cme.formtools.Form); builders that put stored text into a mail header
apply `single_line` again, so text saved before (or by anything that bypasses a form) cannot break them.
"""
from __future__ import annotations

import re

# Control characters (Unicode category Cc: C0, DEL and C1, which holds NEL) and the line and paragraph separators,
# which are not control characters but break lines all the same.
_CONTROL_RUN = re.compile(" *[\x00-\x1f\x7f-\x9f\u2028\u2029][\x00-\x1f\x7f-\x9f\u2028\u2029 ]*")
_CONTROLS_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def single_line(value: str) -> str:
    """The text on one line: every run of control characters (CR, LF, tab, NUL, NEL...) and line separators,
    with the spaces around it, becomes one space ("Ada\r\n Lovelace" is "Ada Lovelace"). A leading or trailing
    space stays: callers strip as they like."""
    return _CONTROL_RUN.sub(" ", value) if isinstance(value, str) else value


def without_controls(value: str) -> str:
    """Multi-line text without the control characters nobody types: tabs and line breaks (CR, LF) stay."""
    return _CONTROLS_BUT_LINE_BREAKS.sub("", value) if isinstance(value, str) else value
