"""Free text from clients, as the databases can store it.

PostgreSQL refuses the NUL character in text (JSON allows it: "\\u0000"): unchecked, it surfaces as a
500 at the INSERT, on PostgreSQL only. Other control characters have no place in a title or a comment
either. `FreeText` refuses them as a 422 naming the field, tab and line breaks allowed; the pattern is in
the contract. (pydantic already refuses a lone surrogate, which UTF-8 cannot encode, in any constrained
string.)
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

_ALLOWED = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # anything but control characters; tab, LF, CR pass
_VISIBLE = r"[^\s\x00-\x1f\x7f]"

NO_CONTROL_CHARACTERS = rf"^{_ALLOWED}*$"
# One pattern only: a second StringConstraints(pattern=...) on the same field would replace this one.
NON_BLANK_TEXT = rf"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"

FreeText = Annotated[str, StringConstraints(pattern=NO_CONTROL_CHARACTERS)]
NonBlankText = Annotated[str, StringConstraints(pattern=NON_BLANK_TEXT)]  # and not only white space
