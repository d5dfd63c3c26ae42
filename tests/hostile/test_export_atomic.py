"""Rows 4-7, 24, 27: export writes every file or none, never outside its folder, never over
a name that exists (a dangling symlink included) without --force, and a run that loses a
race for the folder refuses instead of overwriting. Unwritable folders fail before work."""

import errno
import os
import shutil
import subprocess
import sys

import pytest

from dnsrace.checker.traces import export as export_module
from dnsrace.checker.traces.export import ExportError, write_files

from .helpers import SMALL, one_line_error, run, spawn

EVIL = '''
from dnsrace.model import Original

class Evil(Original):
    name = "{name}"
'''


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", "x" * 200, "a\\\\b"])
def test_a_protocol_name_that_would_leave_the_folder_is_refused_at_load(capsys, tmp_path,
                                                                        monkeypatch, name):
    (tmp_path / "evil.py").write_text(EVIL.format(name=name))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", *SMALL, "--protocol", "evil.py", "--export", "out")
    assert code == 2 and out == "" and one_line_error(err, "evil.py", "protocol name")
    assert sorted(os.listdir(tmp_path)) == ["__pycache__", "evil.py"] or \
        sorted(os.listdir(tmp_path)) == ["evil.py"]


def _fill(directory, free_bytes):
    """Monkeypatch-free ENOSPC: only for a real small file system (see the tmpfs test)."""
    st = os.statvfs(directory)
    (directory / "filler").write_bytes(b"\0" * max(st.f_bavail * st.f_frsize - free_bytes, 0))


def test_enospc_midway_leaves_nothing(capsys, tmp_path, monkeypatch):
    real = export_module._write_temp
    calls = []

    def fails_on_the_fourth(path, text):  # a disk that fills after three files
        calls.append(path)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, text)

    monkeypatch.setattr(export_module, "_write_temp", fails_on_the_fourth)
    target = tmp_path / "out"
    code, _, err = run(capsys, "check", *SMALL, "--export", target, "-q")
    assert code == 2 and one_line_error(err, "No space left on device", "nothing was written")
    assert not target.exists()  # created by the run, removed with everything in it
    calls.clear()
    code, _, err = run(capsys, "gallery", tmp_path / "g")
    assert code == 2 and one_line_error(err, "No space left", "no file was written")
    assert not (tmp_path / "g").exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root")
def test_a_full_tmpfs_leaves_nothing(capsys, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        _fill(mnt, 24 * 1024)
        code, _, err = run(capsys, "check", "--export", mnt / "x", "-q")
        assert code == 2 and one_line_error(err, "No space left on device")
        code, _, err = run(capsys, "gallery", mnt / "g")
        assert code == 2 and one_line_error(err, "No space left on device")
        assert sorted(os.listdir(mnt)) == ["filler"]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_name_taken_while_the_run_worked_is_refused_and_rolled_back(tmp_path):
    write_files(tmp_path, [("b.txt", "theirs")])
    with pytest.raises(ExportError, match="b.txt already exists"):
        write_files(tmp_path, [("a.txt", "mine"), ("b.txt", "mine"), ("c.txt", "mine")])
    assert sorted(os.listdir(tmp_path)) == ["b.txt"]  # a.txt, placed first, was removed
    assert (tmp_path / "b.txt").read_text() == "theirs"


def test_two_concurrent_exports_never_both_write(tmp_path):
    target = tmp_path / "d"
    runs = [spawn("check", *SMALL, "--export", target, "-q") for _ in range(2)]
    codes = sorted(r.wait(timeout=120) for r in runs)
    errs = [r.stderr.read() for r in runs]
    assert codes == [1, 2], errs  # one wrote its counterexamples, the other refused
    assert len([n for n in os.listdir(target) if not n.startswith(".")]) == 15
    assert not [n for n in os.listdir(target) if n.startswith(".")]
    assert any("already exists" in e for e in errs)


def test_a_dangling_symlink_is_not_replaced_without_force(capsys, tmp_path):
    name = "n2-p3-e2-k1-original-monotonic.json"
    (tmp_path / name).symlink_to(tmp_path / "nowhere")
    code, _, err = run(capsys, "check", *SMALL, "--property", "monotonic", "--format", "json",
                       "--export", tmp_path)
    assert code == 2 and one_line_error(err, name, "already exists", "--force")
    assert os.path.islink(tmp_path / name) and not (tmp_path / "nowhere").exists()
    with pytest.raises(ExportError):  # also when it appears after the first check
        write_files(tmp_path, [(name, "x")])
    assert not (tmp_path / "nowhere").exists()


def _read_only(path):
    if os.geteuid() == 0:
        pytest.skip("root writes through read-only modes (the tmpfs test covers root)")
    path.chmod(0o555)


def test_an_unwritable_export_folder_fails_before_exploring(capsys, tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()

    def refuse(*a, **k):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(export_module.tempfile, "mkstemp", refuse)  # a read-only mount
    explored = []
    import dnsrace.checker.cli.check as check_module
    real = check_module.run_check
    monkeypatch.setattr(check_module, "run_check", lambda *a, **k: explored.append(1) or real(*a, **k))
    code, out, err = run(capsys, "check", *SMALL, "--export", ro)
    assert code == 2 and out == "" and explored == []
    assert one_line_error(err, str(ro), "Read-only file system")
    code, out, err = run(capsys, "gallery", ro)
    assert code == 2 and one_line_error(err, "Read-only file system")


def test_empty_folder_and_file_names_are_clear_errors(capsys):
    code, _, err = run(capsys, "check", *SMALL, "--export", "")
    assert code == 2 and one_line_error(err, "--export", "empty")
    code, _, err = run(capsys, "replay", "")
    assert code == 2 and one_line_error(err, "file name is empty")
    code, _, err = run(capsys, "gallery", "")
    assert code == 2 and one_line_error(err, "empty")
