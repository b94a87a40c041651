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
