"""XML handling shared by the GPX and TCX readers: decoding, refusing DTDs, naming the root,
and turning a parser's complaint into "malformed XML at line N"."""

from __future__ import annotations

import codecs
import contextlib
import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_etree
from defusedxml import DefusedXmlException

from service.imports.errors import ImportFileError

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_COMMENT_OR_PI = re.compile(r"<!--.*?-->|<\?.*?\?>", re.DOTALL)
_FIRST_TAG = re.compile(r"<\s*(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
# expat's XML_ERROR_NO_ELEMENTS / XML_ERROR_UNCLOSED_TOKEN...: the document just stops
_ENDS_EARLY = {3, 5, 6}

DTD_REFUSED = "XML with a DOCTYPE or ENTITY declaration is refused (GPX and TCX files need none)"


def looks_like_xml(content: bytes) -> bool:
    head = content[:512].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    return head.startswith(b"<")


def decode(content: bytes) -> str:
    """The document as text, without its XML declaration (the text is already decoded)."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = content.decode("utf-16", errors="replace")
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            declared = _DECLARED_ENCODING.match(content[:200])
            encoding = "latin-1"
            if declared:
                with contextlib.suppress(LookupError):
                    encoding = codecs.lookup(declared.group(1).decode("ascii")).name
            text = content.decode(encoding, errors="replace")
    return _DECLARATION.sub("", text, count=1)


def refuse_dtd(text: str) -> None:
    """No DTD ever: no entity expansion (billion laughs), no external entities."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ImportFileError(DTD_REFUSED)


def root_name(text: str) -> str | None:
    """Local name of the root element, from the head of the document."""
    head = _COMMENT_OR_PI.sub("", text[:8192])
    match = _FIRST_TAG.search(head)
    return match.group(1) if match else None


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def malformed(error: ParseError) -> ImportFileError:
    line = error.position[0] if getattr(error, "position", None) else None
    where = f" at line {line}" if line else ""
    if getattr(error, "code", None) in _ENDS_EARLY:
        return ImportFileError(f"malformed XML{where}: the file ends early (truncated?)")
    reason = str(error).split(":")[0]
    return ImportFileError(f"malformed XML{where}: {reason}")


def parse_tree(text: str) -> Element:
    """The element tree of a document, through defusedxml with DTDs forbidden."""
    try:
        return safe_etree.fromstring(text, forbid_dtd=True)
    except ParseError as e:
        raise malformed(e) from None
    except DefusedXmlException:
        raise ImportFileError(DTD_REFUSED) from None
