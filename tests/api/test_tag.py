"""Tag: host-made exception tags."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture


def test_new_and_type(api):
    store = api.Store()
    tag = api.Tag(store, api.TagType(api.FuncType([api.ValType.i32()], [])))
    ty = tag.type(store)
    assert isinstance(ty, api.TagType)
    assert ty.functype.params == [api.ValType.i32()]
    assert ty.functype.results == []


def test_eq(api):
    store = api.Store()
    tagtype = api.TagType(api.FuncType([api.ValType.i32()], []))
    tag1, tag2 = api.Tag(store, tagtype), api.Tag(store, tagtype)
    assert not tag1.eq(store, tag2)
    assert tag1.eq(store, tag1)


def test_wrong_type(api):
    with pytest.raises(TypeError):
        api.Tag(api.Store(), "not a tagtype")
