"""lab.io: quiet_stderr shared by several threads at once."""

import os
import threading

from lab.io import quiet_stderr


def test_quiet_stderr_overlapping_in_threads_restores_fd2(capfd):
    """Two landmarker threads silence fd 2 in overlapping blocks: native lines are dropped
    meanwhile, and fd 2 is the real stderr again once both have left, whatever the order."""
    before = os.fstat(2)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with quiet_stderr() as q:
            a_in.set()
            b_in.wait(5)
            os.write(2, b"native line from A\n")
            q.stream.write("progress from A\n")
        a_out.set()  # A leaves first, while B is still inside

    def second():
        a_in.wait(5)
        with quiet_stderr():
            b_in.set()
            a_out.wait(5)
            os.write(2, b"native line from B\n")  # still silenced after A left

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    os.write(2, b"after both\n")
    err = capfd.readouterr().err
    assert "native line" not in err
    assert "progress from A" in err and "after both" in err
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_data_defaults_to_the_current_directory_never_the_install_folder(tmp_path, monkeypatch):
    """Samples and the library go to ./data (or $LAB_DATA_DIR); the app's library is the user's."""
    from lab.app import voila_environment
    from lab.library import library_root
    from lab.samples import data_dir, project_root, samples_dir
    monkeypatch.delenv("LAB_DATA_DIR", raising=False)
    monkeypatch.delenv("LAB_LIBRARY_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_dir() == tmp_path / "data" and samples_dir() == tmp_path / "data" / "samples"
    assert library_root() == tmp_path / "data" / "library"
    assert voila_environment()["LAB_LIBRARY_DIR"] == str((tmp_path / "data" / "library").resolve())
    if project_root() is not None:
        assert project_root() not in library_root().parents
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "elsewhere"))
    assert library_root() == tmp_path / "elsewhere" / "library"
