"""Worker threads on the in-process broker come and go without leaving anything behind."""

import dramatiq

from imgwire_site.broker import broker, stop_worker


def test_a_stopped_worker_leaves_no_middleware_on_the_broker():
    before = list(broker.middleware)
    for _ in range(3):
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        worker.start()
        assert len(broker.middleware) == len(before) + 1
        stop_worker(worker)
    assert broker.middleware == before
