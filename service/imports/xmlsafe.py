"""XML handling shared by the GPX and TCX readers: decoding, refusing DTDs, naming the root,
and turning a parser's complaint into "malformed XML at line N"."""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

import defusedxml.ElementTree as safe_etree
from defusedxml import DefusedXmlException
from defusedxml.common import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

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


def _no_doctype(name: str, sysid: str | None, pubid: str | None, *_: Any) -> None:
    raise DTDForbidden(name, sysid, pubid)


def _no_entity(name: str, *_: Any) -> None:
    raise EntitiesForbidden(name, None, None, None, None, None)


def _no_external(context: str, base: str | None, sysid: str | None, pubid: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def parse_events(
    text: str,
    *,
    start: Callable[[str, list[str]], None],
    end: Callable[[str], None],
    data: Callable[[str], None],
    bind: Callable[[Any], None] | None = None,
) -> None:
    """Stream a document through expat, without building a tree: `start(tag, [name, value,
    ...])`, `end(tag)`, `data(text)`, tags as expat names them ("uri}local", or "local").

    The same parser and guards as `parse_tree` (defusedxml's DefusedXMLParser is this expat
    parser with these handlers: a DOCTYPE, an entity declaration or an external entity
    reference raises), fed the same way, so a broken document gets the same message.
    `bind(parser)`, when given, receives the expat parser first (a reader may swap its element
    handlers while it reads, e.g. for a part of the document it reads often). A
    20,000-point TCX read this way creates no Element at all: the tree (~9 elements a point)
    was most of the reader's memory and of the garbage collector's work.
    """
    parser = expat.ParserCreate(None, "}")
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_entity
    parser.UnparsedEntityDeclHandler = _no_entity
    parser.ExternalEntityRefHandler = _no_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.buffer_text = True
    parser.ordered_attributes = True
    if bind is not None:
        bind(parser)
    try:
        # as ElementTree's XMLParser.feed() then close()
        parser.Parse(text, False)
        parser.Parse(b"", True)
    except expat.ExpatError as e:
        error = ParseError(e)
        error.code = e.code
        error.position = e.lineno, e.offset
        raise malformed(error) from None
    except DefusedXmlException:
        raise ImportFileError(DTD_REFUSED) from None
