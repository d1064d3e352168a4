"""Config and Engine: wasmtime-py's setters, checks and consumption rules."""

from __future__ import annotations

import platform

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc

FEATURES = [
    "wasm_threads", "wasm_tail_call", "wasm_reference_types", "wasm_simd",
    "wasm_bulk_memory", "wasm_multi_value", "wasm_multi_memory", "wasm_memory64",
    "wasm_exceptions", "wasm_component_model", "wasm_function_references",
    "wasm_wide_arithmetic", "wasm_custom_page_sizes", "wasm_gc", "wasm_stack_switching",
    "wasm_relaxed_simd", "wasm_relaxed_simd_deterministic",
]  # fmt: skip


def test_every_setter_accepts_what_wasmtime_accepts(api):
    config = api.Config()
    for name in FEATURES:
        setattr(config, name, False)
        setattr(config, name, True)
    config.debug_info = True
    config.strategy = "cranelift"
    config.strategy = "auto"
    config.cache = True
    config.parallel_compilation = False
    config.cranelift_opt_level = "none"
    config.cranelift_opt_level = "speed"
    config.cranelift_opt_level = "speed_and_size"
    for p in ("none", "jitdump", "vtune", "perfmap"):
        config.profiler = p
    config.cranelift_debug_verifier = True
    config.cranelift_nan_canonicalization = True
    config.cranelift_flag_enable("preserve_frame_pointers")
    config.cranelift_flag_set("opt_level", "speed")
    config.consume_fuel = True
    config.epoch_interruption = True
    config.max_wasm_stack = 1 << 20
    config.gc_support = True
    config.native_unwind_info = True
    config.macos_use_mach_ports = True
    config.signals_based_traps = True
    config.memory_may_move = True
    config.memory_reservation = 1 << 20
    config.memory_guard_size = 1 << 16
    config.memory_reservation_for_growth = 1 << 20
    config.memory_init_cow = True
    config.shared_memory = False
    config.close()


def test_engine_from_tuned_config(api):
    config = api.Config()
    config.wasm_simd = True
    config.consume_fuel = True
    config.cranelift_opt_level = "speed"
    config.parallel_compilation = False
    api.Engine(config)


def test_setter_errors(api):
    config = api.Config()
    with pytest.raises(TypeError):
        config.wasm_simd = 1
    with pytest.raises(TypeError):
        config.consume_fuel = "yes"
    with pytest.raises(TypeError):
        config.max_wasm_stack = 1.5
    with pytest.raises(api.WasmtimeError):
        config.strategy = "nonexistent-strategy"
    with pytest.raises(api.WasmtimeError):
        config.cranelift_opt_level = "fastest"
    with pytest.raises(api.WasmtimeError):
        config.profiler = "nonexistent-profiler"
    with pytest.raises(api.WasmtimeError):
        config.cache = "./no-such-cache-config.toml"
    with pytest.raises(api.WasmtimeError):
        config.cache = False
    with pytest.raises(TypeError):
        config.cache = 3
    with pytest.raises(TypeError):
        config.cranelift_flag_enable(3)


def test_options_are_write_only(api):
    config = api.Config()
    config.wasm_simd = True
    with pytest.raises(AttributeError):
        config.wasm_simd  # noqa: B018


def test_target(api):
    config = api.Config()
    if platform.machine() == "x86_64" and platform.system() == "Linux":
        config.target = "x86_64-unknown-linux-gnu"
    with pytest.raises(api.WasmtimeError):
        config.target = "not-a-real-target"


def test_config_is_consumed_by_engine(api):
    config = api.Config()
    api.Engine(config)
    with pytest.raises(ValueError):
        api.Engine(config)
    with pytest.raises(ValueError):
        config.wasm_simd = True


def test_closed_config(api):
    config = api.Config()
    with config:
        pass
    config.close()
    with pytest.raises(ValueError):
        api.Engine(config)
    with pytest.raises(ValueError):
        config.cache = True


def test_engine(api):
    api.Engine()
    api.Engine(api.Config())
    assert api.Engine().is_pulley() is False
    api.Engine().increment_epoch()
    with pytest.raises(TypeError):
        api.Engine(3)


# ---------------------------------------------------------------- nanoproc's strategies


def test_strategy_interp_and_auto():
    config = nanoproc.Config()
    config.strategy = "interp"
    assert nanoproc.Engine(config).tier == "interp"
    from nanoproc.api.tiers import llvm_unavailable_reason

    # auto: interp code at once, native code once compiled, wherever llvmlite is
    expected = "tiered" if llvm_unavailable_reason() is None else "interp"
    assert nanoproc.Engine().tier == expected


def test_strategy_llvm_is_refused_clearly_until_the_tier_exists():
    from nanoproc.api.tiers import llvm_unavailable_reason

    config = nanoproc.Config()
    if llvm_unavailable_reason() is None:
        config.strategy = "llvm"
        assert nanoproc.Engine(config).tier == "llvm"
    else:
        with pytest.raises(nanoproc.WasmtimeError, match="not supported yet: llvm tier"):
            config.strategy = "llvm"
        assert nanoproc.Engine().tier == "interp"


def test_cranelift_means_auto():
    config = nanoproc.Config()
    config.strategy = "cranelift"
    assert nanoproc.Engine(config).tier == nanoproc.Engine().tier


def test_engine_settings_visible_to_tiers():
    config = nanoproc.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    config.max_wasm_stack = 4096
    engine = nanoproc.Engine(config)
    assert engine.consume_fuel and engine.epoch_interruption
    assert engine.max_wasm_stack == 4096
    assert engine.epoch == 0
    engine.increment_epoch()
    assert engine.epoch == 1


def test_closed_engine_makes_no_stores():
    engine = nanoproc.Engine()
    engine.close()
    with pytest.raises(ValueError):
        nanoproc.Store(engine)
