"""Safe XML loading for CommerceML files from 1C.

1C writes UTF-8 (often with a BOM) or windows-1251, with or without the
``urn:1C.ru:commerceml_2`` default namespace. Files come over the network from another
system, so entity expansion and external entities are refused (defusedxml).
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

NAMESPACE = "urn:1C.ru:commerceml_2"
_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=", re.IGNORECASE)
_BOM = b"\xef\xbb\xbf"


class CommerceMLError(ValueError):
    """A file that is not well-formed CommerceML; the message names the file and place."""


def load(name: str, data: bytes) -> Element:
    """Parse ``data`` and return its root with namespaces stripped from every tag.

    Without an encoding declaration XML means UTF-8; 1C's older exports sometimes omit it
    while writing windows-1251, so undecodable undeclared bytes are read as windows-1251.
    """
    if not data.strip():
        raise CommerceMLError(f"{name}: the file is empty")
    source: bytes | str = data
    if not data.startswith(_BOM) and not _DECLARED.match(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            source = data.decode("windows-1251")
    try:
        root = fromstring(source, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise CommerceMLError(f"{name}: refused unsafe XML ({type(exc).__name__})") from exc
    except ParseError as exc:
        raise CommerceMLError(f"{name}: not well-formed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # unknown declared encoding
        raise CommerceMLError(f"{name}: {exc}") from exc
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.rpartition("}")[2]
    return root


def text(element: Element | None, path: str | None = None) -> str:
    """Stripped text of ``element`` (or of its first ``path`` match), "" when absent."""
    if element is not None and path is not None:
        element = element.find(path)
    if element is None or element.text is None:
        return ""
    return element.text.strip()
