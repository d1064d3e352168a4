"""WasiConfig: wasmtime-py's configuration surface (running WASI is tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import api_fixture  # noqa: F401 - the api fixture

import nanoproc


def test_config(api, tmp_path):
    config = api.WasiConfig()
    config.argv = ["a", "b"]
    config.inherit_argv()
    config.env = [["a", "b"]]
    config.inherit_env()
    f = tmp_path / "file"
    f.write_bytes(b"data")
    config.stdin_file = str(f)
    config.stdin_file = Path(f)
    config.inherit_stdin()
    config.stdout_file = str(f)
    config.stdout_file = Path(f)
    config.inherit_stdout()
    config.stderr_file = str(f)
    config.inherit_stderr()
    config.stdout_custom = lambda data: None
    config.stderr_custom = lambda data: None
    with pytest.raises(api.WasmtimeError):
        config.stdin_file = str(tmp_path / "somewhere-over-the-rainbow")
    with pytest.raises(api.WasmtimeError):
        config.stdout_file = str(tmp_path / "no-such-dir" / "out")
    with pytest.raises(api.WasmtimeError):
        config.stderr_file = str(tmp_path / "no-such-dir" / "err")
    config.preopen_dir(str(tmp_path), "/sandbox")
    with pytest.raises(api.WasmtimeError):
        config.preopen_dir(str(tmp_path / "nowhere"), "/")
    with pytest.raises(AttributeError):
        config.argv  # noqa: B018 - write-only


def test_stdout_file_is_created_when_set(api, tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old contents")
    api.WasiConfig().stdout_file = str(out)
    assert out.read_text() == ""


def test_settings_handed_to_the_store(tmp_path):
    config = nanoproc.WasiConfig()
    config.argv = ["prog", "x"]
    config.env = [("K", "V")]
    config.preopen_dir(str(tmp_path), "/data", nanoproc.DirPerms.READ_ONLY, nanoproc.FilePerms.READ_ONLY)
    config.preopen_dir(str(tmp_path), "/rw")
    config.preopen_dir(str(tmp_path), "/ro", False)  # wasmtime-py 50's fs_mutable
    store = nanoproc.Store()
    store.set_wasi(config)
    settings = store._state.wasi
    assert settings.argv == ("prog", "x")
    assert settings.env == (("K", "V"),)
    assert settings.stdout is None
    perms = [(p.guest_path, p.dir_perms, p.file_perms) for p in settings.preopens]
    assert perms == [
        ("/data", nanoproc.DirPerms.READ_ONLY, nanoproc.FilePerms.READ_ONLY),
        ("/rw", nanoproc.DirPerms.READ_WRITE, nanoproc.FilePerms.READ_WRITE),
        ("/ro", nanoproc.DirPerms.READ_ONLY, nanoproc.FilePerms.READ_ONLY),
    ]
    with pytest.raises(ValueError):
        config.argv = ["again"]
