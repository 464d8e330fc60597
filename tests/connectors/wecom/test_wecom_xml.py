"""The WeCom door's XML reader (``parse_xml``) reads exactly what defusedxml's ElementTree
reads — ``{child.tag: (child.text or "").strip()}`` of the root — and refuses exactly what it
refuses (DTDs, entity declarations, external references, malformed documents)."""

from __future__ import annotations

import pytest
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from hypothesis import HealthCheck, given, settings, strategies as st
from xml.etree.ElementTree import ParseError

from hub.connector import WebhookRejected

from connectors.wecom.webhook import parse_xml


def reference(data: bytes) -> dict[str, str] | str:
    """What the door read before: defusedxml's tree, or the name of the refusal."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        return type(exc).__name__
    return {child.tag: (child.text or "").strip() for child in root}


def ours(data: bytes) -> dict[str, str] | str:
    try:
        return parse_xml(data)
    except WebhookRejected as exc:
        assert exc.status == 400
        return exc.message.removeprefix("malformed or unsafe XML (").removesuffix(")")


TAGS = st.sampled_from(["xml", "Encrypt", "ToUserName", "Event", "a", "ns:x", "Item", "创建"])
# mostly well-formed, now and then something a parser must refuse
TEXT = st.lists(st.sampled_from(list("ab 中\t\n;'\"]>") * 4 + ["&amp;", "&lt;", "&#20013;", "<", "&", "&x;", "]]>"]), max_size=8).map("".join)


@st.composite
def element(draw, depth: int = 0) -> str:
    tag = draw(TAGS)
    attrs = draw(st.sampled_from(["", "", "", ' id="1"', ' xmlns:ns="urn:x"', " bad", ' a="<"']))
    parts = []
    for _ in range(draw(st.integers(0, 4 if depth < 3 else 0))):
        kind = draw(st.sampled_from(["text", "cdata", "child", "comment", "pi"] + ["child"] * (4 if depth == 0 else 0)))
        if kind == "text":
            parts.append(draw(TEXT))
        elif kind == "cdata":
            parts.append(f"<![CDATA[{draw(TEXT).replace(']]>', '')}]]>")
        elif kind == "child":
            parts.append(draw(element(depth + 1)))
        elif kind == "comment":
            parts.append("<!-- c -->")
        else:
            parts.append("<?pi x?>")
    close = draw(st.sampled_from([tag] * 9 + ["other"]))
    return f"<{tag}{attrs}>{''.join(parts)}</{close}>"


PROLOGUES = st.sampled_from([
    "", "", "", "", "", "", '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?>\n',
    "<!DOCTYPE xml>", '<!DOCTYPE xml [<!ENTITY x "boom">]>',
    '<!DOCTYPE xml SYSTEM "http://example.com/x.dtd">', '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prologue=PROLOGUES, root=element(), trailer=st.sampled_from(["", "", "", " ", "<junk/>", "text"]))
def test_parse_xml_reads_and_refuses_what_defusedxml_does(prologue, root, trailer):
    data = (prologue + root + trailer).encode()
    assert ours(data) == reference(data)


@pytest.mark.parametrize("data", [
    b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>',
    b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Encrypt>&x;</Encrypt></xml>',
    b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/x.dtd"><xml><Encrypt>a</Encrypt></xml>',
    b"<xml><Encrypt>&x;</Encrypt></xml>",
    b"<xml><Encrypt>a</Encrypt>",
    b"",
])
def test_unsafe_or_malformed_documents_are_refused(data):
    with pytest.raises(WebhookRejected) as caught:
        parse_xml(data)
    assert caught.value.status == 400 and ours(data) == reference(data)


def test_a_flat_wecom_document():
    data = (b"<xml><ToUserName><![CDATA[ww1]]></ToUserName><CreateTime>1411525903</CreateTime>"
            b"<Event><![CDATA[change_external_contact]]></Event><Name> \xe5\xbc\xa0 &amp; co </Name></xml>")
    assert parse_xml(data) == {"ToUserName": "ww1", "CreateTime": "1411525903", "Event": "change_external_contact", "Name": "张 & co"}
