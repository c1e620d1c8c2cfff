import time


def wait_for(condition, timeout: float = 60.0, interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds.

    Used only where another process does the work (real broker workers), so there is no
    join to wait on; the deadline is a failure bound, not a timing assumption.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
