"""The bad-input suite, checkpoints (issue 9, items 4 and 13-15): keys that would collide or
never load again, saves killed halfway, shared and symlinked files, and every way a file can
fail to load. See tests/test_bad_inputs.py for the rules of the suite."""

import io
import json
import os
import stat
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import tinygan
from tinygan import checkpoint

# =============================================================================================
# Silent wrong answers: keys.


@pytest.mark.parametrize("key, problem", [
    ("x.npy", "ends in '.npy'"),
    ("a\0b", "contains a NUL character"),
    ("\ud800", "is not valid Unicode text"),
    ("", "is empty"),
    ("a/b", "contains '/'"),
])
def test_9_4_keys_that_would_collide_or_never_load_are_refused_at_save(tmp_path, key, problem):
    path = tmp_path / "c.npz"
    with pytest.raises(ValueError, match=rf"tinygan.save: key .* at 'the top level' .*{problem}"):
        tinygan.save({key: 1, "x": 2}, path)
    with pytest.raises(ValueError, match="ends in '.npy'"):
        tinygan.save({"inner": {"w.npy": 1}}, path)
    assert not path.exists()


def test_9_4_keys_that_look_like_member_names_still_round_trip(tmp_path):
    path = tmp_path / "c.npz"
    state = {"x": 1, "x.np": 2, "npy": 3, ".npy.x": 4, "é ü": 5, 7: 6}
    tinygan.save(state, path)
    assert tinygan.load(path) == state


# =============================================================================================
# Checkpoints: killed saves, durability, permissions, symlinks.


def test_9_13_a_save_killed_halfway_leaves_the_previous_file_and_the_next_save_cleans_up(
        tmp_path):
    path = tmp_path / "c.npz"
    tinygan.save({"epoch": 1}, path)
    child = textwrap.dedent(f"""
        import os, signal, numpy as np, tinygan
        from tinygan import checkpoint
        def write_half_then_die(file, arrays):
            file.write(b"PK" + bytes(1000))
            file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        checkpoint._write_npz = write_half_then_die
        tinygan.save({{"epoch": 2, "w": np.ones(1000)}}, {str(path)!r})
    """)
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60)
        assert result.returncode == -9, result.stderr
    stale = [name for name in os.listdir(tmp_path) if name.startswith(".c.npz.tmp-")]
    assert len(stale) == 3
    assert tinygan.load(path) == {"epoch": 1}  # the previous checkpoint, intact
    for name in stale:  # as if the kills happened a while ago
        os.utime(tmp_path / name, (0, 0))
    tinygan.save({"epoch": 3}, path)
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]
    assert tinygan.load(path) == {"epoch": 3}


def test_9_13_stale_temporaries_of_other_files_are_left_alone(tmp_path):
    other = tmp_path / ".d.npz.tmp-0123456789abcdef"
    other.write_bytes(b"someone else's")
    os.utime(other, (0, 0))
    tinygan.save({"a": 1}, tmp_path / "c.npz")
    assert other.exists()


def test_9_13_the_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"),
                                                     real_replace(a, b))[1])
    tinygan.save({"a": 1}, tmp_path / "c.npz")
    assert events[:2] == ["fsync", "replace"]


def test_9_14_a_new_checkpoint_honours_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        tinygan.save({"a": 1}, tmp_path / "shared.npz")
        os.umask(0o077)
        tinygan.save({"a": 1}, tmp_path / "private.npz")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "shared.npz").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "private.npz").st_mode) == 0o600


def test_9_14_overwriting_keeps_the_existing_files_mode(tmp_path):
    path = tmp_path / "c.npz"
    tinygan.save({"a": 1}, path)
    os.chmod(path, 0o640)
    tinygan.save({"a": 2}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert tinygan.load(path) == {"a": 2}


def test_9_14_saving_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "model.npz"
    tinygan.save({"a": 1}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    tinygan.save({"a": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert tinygan.load(target) == {"a": 2}
    assert sorted(os.listdir(tmp_path / "runs")) == ["model.npz"]


# =============================================================================================
# Checkpoints: every failure names the user's path and the real cause.


def test_9_15_save_errors_name_the_users_path_not_the_temporary(tmp_path, monkeypatch):
    missing = tmp_path / "no" / "such" / "folder" / "c.npz"
    with pytest.raises(FileNotFoundError, match=r"cannot write .*folder/c\.npz'.*does not exist"):
        tinygan.save({"a": 1}, missing)
    with pytest.raises(ValueError, match="tinygan.save: the path is empty"):
        tinygan.save({"a": 1}, "")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        tinygan.save({"a": 1}, tmp_path)

    def refuse(*args, **kwargs):  # a read-only folder (root would not be refused for real)
        raise PermissionError(13, "Permission denied", str(tmp_path / ".c.npz.tmp-x"))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError) as caught:
        tinygan.save({"a": 1}, tmp_path / "c.npz")
    assert "c.npz'" in str(caught.value) and ".tmp-" not in str(caught.value)
    assert "Permission denied" in str(caught.value)


def assert_load_fails(path, *fragments):
    with pytest.raises(tinygan.CheckpointError) as caught:
        tinygan.load(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert "pickle" not in message.lower() or "never" in message
    return message


def test_9_15_a_text_file_is_not_an_archive_and_pickle_is_never_suggested(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello, not a checkpoint\n")
    message = assert_load_fails(path, "not a zip (.npz) archive")
    assert "allow_pickle" not in message


def test_9_15_a_truncated_file_says_truncated(tmp_path):
    path = tmp_path / "c.npz"
    tinygan.save({"w": np.ones(100)}, path)
    data = path.read_bytes()
    for length in (0, 2, 30, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:length])
        if length < 2:
            assert_load_fails(path, "not a zip")
        else:
            assert_load_fails(path, "truncated or damaged")


def test_9_15_a_permission_error_is_reported_as_such_not_as_corruption(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    tinygan.save({"a": 1}, path)
    real_open = open

    def refuse(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refuse)
    message = assert_load_fails(path, "cannot read", "Permission denied")
    assert "corrupt" not in message and "truncated" not in message


def test_9_15_a_missing_file_is_a_checkpoint_error_and_a_file_not_found_error(tmp_path):
    with pytest.raises(tinygan.CheckpointError, match="no such file") as caught:
        tinygan.load(tmp_path / "missing.npz")
    assert isinstance(caught.value, FileNotFoundError)


def test_9_15_a_folder_is_not_a_checkpoint(tmp_path):
    assert_load_fails(tmp_path, "cannot read")


def write_crafted(path, kinds, members=()):
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("__structure__.npy", "w") as member:
            np.lib.format.write_array(member, np.array(json.dumps(
                {"format": "tinygan checkpoint", "version": 1, "kinds": kinds})))
        for name, data in members:
            with archive.open(name, "w") as member:
                member.write(data)


@pytest.mark.parametrize("kinds, cause", [
    ({"": {"kind": "dict", "keys": [""]}}, "not a list of names"),
    ({"": {"kind": "dict", "keys": ["a"]}, "a": {"kind": "list", "length": -1}},
     "unknown container"),
    ({"": {"kind": "dict", "keys": ["a"]}, "a": "lambda"}, "unknown kind"),
    ({"": {"kind": "dict", "keys": ["a"]}, "a": "int"}, "is missing"),
    ({"": {"kind": "dict", "keys": ["a"]}}, "no kind recorded"),
    ([], "not a mapping"),
])
def test_9_15_a_crafted_structure_is_a_checkpoint_error(tmp_path, kinds, cause):
    path = tmp_path / "crafted.npz"
    write_crafted(path, kinds)
    assert_load_fails(path, "damaged __structure__", cause)


def test_9_15_a_structure_1500_levels_deep_is_a_checkpoint_error_not_a_recursion_error(
        tmp_path):
    # (the file was 5000 levels deep; past Python's recursion limit of 1000 is enough,
    # and the keys' total length grows with the square of the depth)
    kinds, key = {"": {"kind": "dict", "keys": ["a"]}}, ""
    for _ in range(1500):
        key = f"{key}/a" if key else "a"
        kinds[key] = {"kind": "dict", "keys": ["a"]}
    path = tmp_path / "deep.npz"
    write_crafted(path, kinds)
    assert_load_fails(path, "nested deeper than 100 levels")


def test_9_15_a_member_claiming_8_tib_is_a_checkpoint_error_not_a_memory_error(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)})
    path = tmp_path / "huge.npz"
    write_crafted(path, {"": {"kind": "dict", "keys": ["w"]}, "w": "array"},
                  [("w.npy", header.getvalue() + bytes(64))])
    assert_load_fails(path, "'w.npy' claims shape (1099511627776,)", "8796093022208 bytes",
                      "holds 64 bytes")


def test_9_15_an_object_array_is_refused_without_suggesting_pickle(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}], dtype=object))
    assert_load_fails(path, "array of Python objects")


def test_9_15_saving_a_dict_that_contains_itself_is_a_clear_error(tmp_path):
    looped = {"a": 1}
    looped["self"] = looped
    with pytest.raises(ValueError, match="nested deeper than 100 levels"):
        tinygan.save(looped, tmp_path / "c.npz")


def test_checkpoint_module_has_one_error_type_for_loading():
    assert issubclass(checkpoint.CheckpointNotFoundError, tinygan.CheckpointError)
