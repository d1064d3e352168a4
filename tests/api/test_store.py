"""Store: data, closing, fuel, epochs and resource limits."""

from __future__ import annotations

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc


def test_smoke(api):
    api.Store()
    api.Store(api.Engine())
    with api.Store() as store:
        assert store.engine is not None
    store = api.Store()
    store.close()
    store.close()
    with pytest.raises(ValueError):
        store.set_epoch_deadline(1)


def test_errors(api):
    with pytest.raises(TypeError):
        api.Store(3)


def test_data(api):
    payload = {"tenant": 7}
    assert api.Store(data=payload).data() is payload
    assert api.Store().data() is None


def test_fuel_needs_configuration(api):
    store = api.Store()
    with pytest.raises(api.WasmtimeError):
        store.set_fuel(1)
    with pytest.raises(api.WasmtimeError):
        store.get_fuel()


def test_fuel(api):
    config = api.Config()
    config.consume_fuel = True
    store = api.Store(api.Engine(config))
    assert store.get_fuel() == 0
    for amount in (1, 2, 10_000_000_000, 0):
        store.set_fuel(amount)
        assert store.get_fuel() == amount


def test_epoch_deadline(api):
    config = api.Config()
    config.epoch_interruption = True
    engine = api.Engine(config)
    engine.increment_epoch()
    store = api.Store(engine)
    store.set_epoch_deadline(1)


def test_memory_size_limit(api):
    store = api.Store()
    store.set_limits(memory_size=0)
    with pytest.raises(api.WasmtimeError):
        api.Memory(store, api.MemoryType(api.Limits(1, None)))
    store.set_limits(memory_size=100000)
    mem = api.Memory(store, api.MemoryType(api.Limits(1, None)))
    with pytest.raises(api.WasmtimeError):
        mem.grow(store, 1)


def test_set_limits_replaces_earlier_limits(api):
    store = api.Store()
    store.set_limits(memory_size=0)
    store.set_limits(table_elements=5)
    api.Memory(store, api.MemoryType(api.Limits(1, None)))


def test_table_elements_limit(api):
    store = api.Store()
    store.set_limits(table_elements=1)
    api.Table(store, api.TableType(api.ValType.funcref(), api.Limits(1, None)), None)
    with pytest.raises(api.WasmtimeError):
        api.Table(store, api.TableType(api.ValType.funcref(), api.Limits(2, None)), None)
    table = api.Table(store, api.TableType(api.ValType.funcref(), api.Limits(1, None)), None)
    with pytest.raises(api.WasmtimeError):
        table.grow(store, 1, None)


def test_gc_is_callable(api):
    store = api.Store()
    store.gc()


def test_wasi_config_is_consumed(api):
    store = api.Store()
    wasi = api.WasiConfig()
    store.set_wasi(wasi)
    with pytest.raises(ValueError):
        api.Store().set_wasi(wasi)


def test_closed_store_refuses_objects():
    store = nanoproc.Store()
    mem = nanoproc.Memory(store, nanoproc.MemoryType(nanoproc.Limits(1, None)))
    f = nanoproc.Func(store, nanoproc.FuncType([], []), lambda: None)
    store.close()
    with pytest.raises(ValueError):
        mem.size(store)
    with pytest.raises(ValueError):
        f(store)
    with pytest.raises(ValueError):
        store.data()


def test_objects_of_another_store_are_refused():
    a, b = nanoproc.Store(), nanoproc.Store()
    mem = nanoproc.Memory(a, nanoproc.MemoryType(nanoproc.Limits(1, None)))
    f = nanoproc.Func(a, nanoproc.FuncType([], []), lambda: None)
    with pytest.raises(nanoproc.WasmtimeError, match="wrong store"):
        mem.size(b)
    with pytest.raises(nanoproc.WasmtimeError, match="wrong store"):
        f(b)


LOOP = '(module (func (export "spin") (loop (br 0))))'


def _limited_engine(api, option):
    config = api.Config()
    setattr(config, option, True)
    return api.Engine(config)


def _tier_enforces(api, engine, option):
    """wasmtime enforces both; a nanoproc tier says so with supports_fuel/supports_epochs."""
    if api.__name__ == "wasmtime":
        return True
    attr = "supports_fuel" if option == "consume_fuel" else "supports_epochs"
    return bool(getattr(engine.backend, attr, False))


def test_out_of_fuel_traps_or_is_refused(api):
    engine = _limited_engine(api, "consume_fuel")
    store = api.Store(engine)
    module = api.Module(engine, LOOP)
    store.set_fuel(10_000)
    if not _tier_enforces(api, engine, "consume_fuel"):
        with pytest.raises(api.WasmtimeError, match="not supported yet: fuel metering"):
            api.Instance(store, module, [])
        return
    spin = api.Instance(store, module, []).exports(store)["spin"]
    with pytest.raises(api.Trap) as info:
        spin(store)
    assert info.value.trap_code == api.TrapCode.OUT_OF_FUEL


def test_epoch_deadline_interrupts_or_is_refused(api):
    engine = _limited_engine(api, "epoch_interruption")
    store = api.Store(engine)
    module = api.Module(engine, """
        (module (import "" "tick" (func $tick)) (func (export "run") (call $tick) (loop (br 0))))
    """)
    store.set_epoch_deadline(1)
    tick = api.Func(store, api.FuncType([], []), engine.increment_epoch)
    if not _tier_enforces(api, engine, "epoch_interruption"):
        with pytest.raises(api.WasmtimeError, match="not supported yet: epoch interruption"):
            api.Instance(store, module, [tick])
        return
    run = api.Instance(store, module, [tick]).exports(store)["run"]
    with pytest.raises(api.Trap) as info:
        run(store)
    assert info.value.trap_code == api.TrapCode.INTERRUPT
