"""The phone fast path gives exactly the ``phonenumbers`` result (issue 14).

:func:`hub.phones.format_phone` skips ``phonenumbers`` for mainland mobiles in the common
shapes. These tests compare it with :func:`hub.phones.phonenumbers_format` (the same parse
with no fast path) on generated inputs — every shape Chinese systems write, and the
near-misses around them — and check the fast path really is taken where it should be.
"""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hub.identity_kinds import normalize_phone
from hub.phones import FORMATS, cn_mobile, format_phone, phonenumbers_format

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# National numbers around the mobile plan: real mobile blocks, non-mobile 1x blocks (11, 12,
# 179 carrier prefixes, unassigned ranges), landlines, 400/800 numbers, wrong lengths.
national_numbers = st.one_of(
    st.builds(lambda p, rest: p + rest, st.sampled_from(["13", "14", "15", "16", "17", "18", "19"]),
              st.text("0123456789", min_size=9, max_size=9)),
    st.builds(lambda p, rest: p + rest, st.sampled_from(["1610", "1740", "1741", "1745", "1746", "1749", "179", "11", "12", "10"]),
              st.text("0123456789", min_size=5, max_size=9)),
    st.builds(lambda p, rest: p + rest, st.sampled_from(["010", "021", "0755", "400", "800", "0", "86", "0086"]),
              st.text("0123456789", min_size=4, max_size=9)),
    st.text("0123456789", min_size=1, max_size=16),
)
prefixes = st.sampled_from(["", "", "+86", "+86 ", "+86-", "86", "86 ", "0086", "0086 ", "00 86 ", "+", "+0086", "086",
                            "(+86)", "+8 6", "+ 86 ", "+-86-", "0-0-8-6 ", "＋86", "tel:+86", "8", "+852 ", "+1 "])
separators = st.sampled_from(["", " ", "-", "  ", " - ", "\u3000", ".", "/", "—"])
regions = st.sampled_from(["CN", "CN", "CN", "HK", "US", "TW", "GB"])


@st.composite
def written_phones(draw) -> str:
    """A phone as a form, a CRM column or an export might hold it."""
    national = draw(national_numbers)
    if draw(st.booleans()):  # split into groups the way people type them
        cuts = sorted(draw(st.lists(st.integers(1, max(1, len(national) - 1)), max_size=3, unique=True)))
        sep = draw(separators)
        parts, last = [], 0
        for c in cuts:
            parts.append(national[last:c])
            last = c
        parts.append(national[last:])
        national = sep.join(p for p in parts if p)
    text = draw(prefixes) + national
    if draw(st.integers(0, 4)) == 0:
        text = text.translate(FULLWIDTH)
    if draw(st.integers(0, 5)) == 0:
        text = draw(st.sampled_from([" ", "\t", "\u3000", "-"])) + text + draw(st.sampled_from(["", " ", "-", "#", " ext 12", "x"]))
    return text


def _same(text: str, region: str) -> None:
    for fmt in FORMATS:
        for valid_only in (False, True):
            assert format_phone(text, region, fmt, valid_only=valid_only) == phonenumbers_format(text, region, fmt, valid_only=valid_only), \
                (text, region, fmt, valid_only)


@settings(max_examples=800, deadline=None)
@given(text=written_phones(), region=regions)
@example(text="+86 138-0013-8000", region="CN")
@example(text="１３８００１３８０００", region="CN")
@example(text="８６１３８００１３８０００", region="US")
@example(text="8613800138000", region="US")
@example(text="008613800138000", region="GB")
@example(text="17951234567", region="CN")
@example(text="17400123456", region="CN")
@example(text="17406123456", region="CN")
@example(text="-+8613800138000-", region="CN")
@example(text="1" + " " * 260 + "3800138000", region="CN")
def test_fast_path_equals_phonenumbers(text, region):
    _same(text, region)


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from("0123456789０１２３４５６７８９+- ()86"), max_size=20), region=regions)
def test_fast_path_equals_phonenumbers_on_arbitrary_digit_text(text, region):
    _same(text, region)


def test_every_mobile_block_agrees():
    """One number from every 4-digit block 1000–1999 and a sample of 7-digit blocks."""
    rnd = random.Random(14)
    blocks = [f"{b}{rnd.randrange(10 ** 7):07d}" for b in range(1000, 2000)]
    blocks += [f"{b}{rnd.randrange(10 ** 4):04d}" for b in rnd.sample(range(1_000_000, 2_000_000), 1000)]
    for national in blocks:
        for text in (national, "+86" + national, "0086 " + national, "86" + national):
            _same(text, "CN")


@pytest.mark.parametrize("text", ["13800138000", "+86 138 0013 8000", "+86-138-0013-8000", "8613800138000",
                                  "0086 13800138000", "138-0013-8000", "１３８００１３８０００", " 13800138000 "])
def test_common_mobile_shapes_take_the_fast_path(text):
    assert cn_mobile(text.strip()) == "13800138000"
    assert format_phone(text) == "+8613800138000"
    assert format_phone(text, fmt="national") == "138 0013 8000"
    assert format_phone(text, fmt="digits") == "13800138000"


@pytest.mark.parametrize("text, region", [
    ("010-12345678", "CN"),          # landline
    ("400-123-4567", "CN"),
    ("12345678901", "CN"),           # not a mobile block
    ("17951234567", "CN"),           # 179xx carrier prefix, not a mobile
    ("13800138000", "HK"),           # a bare national number outside CN
    ("０08613800138000", "US"),       # 00 is not the US international prefix
    ("(+86) 13800138000", "CN"),     # brackets: phonenumbers decides
    ("13800138000 ext 5", "CN"),
])
def test_everything_else_goes_to_phonenumbers(text, region):
    assert cn_mobile(text, region) is None
    assert format_phone(text, region) == phonenumbers_format(text, region)


def test_other_formats():
    assert format_phone("010-12345678", fmt="national") == "010 1234 5678"
    assert format_phone("010-12345678", fmt="digits") == "01012345678"
    assert format_phone("+852 6123 4567", fmt="national") == "00 852 6123 4567"   # dialled from CN
    assert format_phone("+852 6123 4567", fmt="digits") == "0085261234567"
    assert format_phone("13800138000 ext 5", fmt="national") == "138 0013 8000"     # extension dropped
    assert format_phone(13800138000) == "+8613800138000"                             # an integer column
    with pytest.raises(ValueError, match="format must be one of e164, national, digits"):
        format_phone("13800138000", fmt="international")


def test_identity_normalisation_uses_the_same_implementation():
    assert normalize_phone("+86 138 0013 8000") == "+8613800138000"
    assert normalize_phone("12345678901") == "+8612345678901"                     # possible, not valid
    assert normalize_phone("12345678901", valid_only=True) is None
    parsed = phonenumbers.parse("+8613800138000")
    assert normalize_phone("13800138000") == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
