"""Whether a credential can travel in an `Authorization: Bearer` header at all.

Chutes keys and tokens are printable ASCII. Anything else (a curly quote, a non-breaking space or a line
break that came with a copy, UTF-8 read as Latin-1 by a server) cannot be encoded in a header, or would
be a different credential there, so it is refused before any request with where it is, never what.
"""

from __future__ import annotations


def unsendable_part(token: str) -> str | None:
    """What keeps `token` out of a header ("a space at position 12"), or None when it can be sent.

    Says which kind of character and where, never the character: it is part of a secret.
    """
    if token.isascii() and token.isprintable() and " " not in token and token:
        return None
    if not token:
        return "nothing in it"
    for position, character in enumerate(token, start=1):
        if character == " ":
            return f"a space at position {position}"
        if not character.isascii():
            return f"a non-ASCII character at position {position}"
        if not character.isprintable():
            return f"a control character (a tab or a line break?) at position {position}"
    return None
