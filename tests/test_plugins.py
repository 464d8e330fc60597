"""Plugin loading: entry points, the HUB_LOAD_PLUGINS allow-list, check_pending, clashes."""

import types

import pytest

from hub.connector import Connector
from hub.hookspecs import hookimpl
from hub.plugins import PluginError, build_registry


def plugin_module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, func in hooks.items():
        setattr(module, hook_name, hookimpl(func))
    return module


def test_example_plugin_is_found_through_its_entry_point():
    registry = build_registry()
    info = {p.name: p for p in registry.plugins}["example"]
    assert info.distribution == "hub-example"
    assert info.version == "0.2.0"
    assert registry.connector_plugin["example"] == "example"


def test_allow_list_excludes_unlisted_plugins(monkeypatch):
    monkeypatch.setenv("HUB_LOAD_PLUGINS", "wecom")
    registry = build_registry()
    assert "example" not in registry.connectors
    assert "example" not in {p.name for p in registry.plugins}


def test_allow_list_includes_listed_plugins(monkeypatch):
    monkeypatch.setenv("HUB_LOAD_PLUGINS", " example , other")
    assert "example" in build_registry().connectors


def test_misspelt_hook_is_rejected_by_check_pending():
    typo = plugin_module("typo_plugin", hub_register_conectors=lambda register: None)
    with pytest.raises(PluginError) as info:
        build_registry(extra_plugins=[typo])
    assert "hub_register_conectors" in str(info.value)


def test_two_plugins_registering_one_connector_type_clash():
    class Clash(Connector):
        name = "example"
        streams = {}

    clash = plugin_module("clash_plugin", hub_register_connectors=lambda register: register(Clash))
    with pytest.raises(PluginError) as info:
        build_registry(extra_plugins=[clash])
    assert "'example' registered twice" in str(info.value) and "clash_plugin" in str(info.value)


def test_registering_something_that_is_not_a_connector_is_an_error():
    bad = plugin_module("bad_plugin", hub_register_connectors=lambda register: register(dict))
    with pytest.raises(PluginError, match="not a Connector subclass"):
        build_registry(extra_plugins=[bad])


def test_plugins_contribute_identity_kinds_and_transforms():
    def kinds(register):
        register("qq", strong=True, max_per_contact=1, normalize=str.strip)

    def transforms(register):
        register("reverse", lambda **options: (lambda value, record: value[::-1]))

    registry = build_registry(extra_plugins=[plugin_module("extra", hub_register_identity_kinds=kinds, hub_register_transforms=transforms)])
    assert registry.identity_kinds["qq"].strong is True
    assert registry.identity_kinds["phone"].strong is False
    assert registry.transforms["reverse"]()("abc", {}) == "cba"


def test_a_plugin_that_fails_to_import_is_named(monkeypatch, tmp_path):
    import importlib.metadata as md

    real = md.entry_points

    def entry_points(**kwargs):
        eps = list(real(**kwargs))
        if kwargs.get("group") == "hub":
            eps.append(md.EntryPoint(name="broken", value="no_such_module_xyz.plugin", group="hub"))
        return eps

    monkeypatch.setattr(md, "entry_points", entry_points)
    with pytest.raises(PluginError, match="plugin 'broken'"):
        build_registry()
