"""scripts/supervise.py's control socket fits a Unix socket path from any directory.

A deep checkout (or a test's tmp dir under xdist) made `make dev` fail with
supervisord's "AF_UNIX path too long"; the node-loss chaos test runs it from
such a directory for real.
"""

import importlib.util
import os
import socket

from tests.processes import ROOT

spec = importlib.util.spec_from_file_location("supervise", ROOT / "scripts" / "supervise.py")
supervise = importlib.util.module_from_spec(spec)
spec.loader.exec_module(supervise)


def test_a_short_directory_keeps_its_socket_inside(tmp_path):
    assert supervise.control_socket(tmp_path) == tmp_path.resolve() / "supervisor.sock"


def test_a_deep_directory_gets_a_socket_that_binds_and_is_its_own(tmp_path):
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 5)
    deep.mkdir(parents=True)
    other = deep / "other"
    path, other_path = supervise.control_socket(deep), supervise.control_socket(other)
    assert len(os.fsencode(path)) <= supervise.SOCKET_PATH_MAX
    assert path != other_path
    assert f"file={path}" in supervise.config({"web": "true"}, deep)
    # The path really binds, with the suffix supervisord adds to it first.
    temporary = f"{path}{supervise.SUPERVISORD_TEMP_SUFFIX}"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(temporary)
    os.unlink(temporary)


def test_a_path_that_fits_only_without_supervisords_suffix_moves(tmp_path):
    # 107 bytes, as CI's xdist tmp dir gave: it binds, but supervisord's "<path>.<pid>" does not.
    room = 107 - len(os.fsencode(tmp_path.resolve())) - len("//supervisor.sock")
    directory = tmp_path / ("d" * room)
    assert len(os.fsencode(directory.resolve() / "supervisor.sock")) == 107
    assert supervise.control_socket(directory).parent != directory.resolve()


def test_a_deep_temp_directory_falls_back_to_tmp(tmp_path, monkeypatch):
    deep_temp = tmp_path.joinpath(*["a-rather-long-temp-directory-name"] * 4)
    deep_temp.mkdir(parents=True)
    monkeypatch.setattr(supervise.tempfile, "tempdir", str(deep_temp))
    path = supervise.control_socket(deep_temp / "supervisor")
    assert path.parent == supervise.Path("/tmp")  # noqa: S108
    assert len(os.fsencode(path)) <= supervise.SOCKET_PATH_MAX
