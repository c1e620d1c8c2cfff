"""Worker threads on the in-process broker come and go without leaving anything behind."""

import logging

import dramatiq

from imgwire_site.broker import DjangoDbConnections, broker, stop_worker


def test_a_stopped_worker_leaves_no_middleware_on_the_broker():
    before = list(broker.middleware)
    for _ in range(3):
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        worker.start()
        assert len(broker.middleware) == len(before) + 1
        stop_worker(worker)
    assert broker.middleware == before


def test_two_workers_on_one_broker_start_without_the_duplicate_middleware_warning(caplog):
    caplog.set_level(logging.WARNING, logger=broker.logger.name)
    workers = [dramatiq.Worker(broker, worker_threads=1, worker_timeout=50) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        stop_worker(worker)
    assert not [r for r in caplog.records if "same type twice" in r.getMessage()]


def test_another_middleware_added_twice_is_still_warned_about(caplog):
    caplog.set_level(logging.WARNING, logger=broker.logger.name)
    before = list(broker.middleware)
    broker.add_middleware(DjangoDbConnections())  # the broker has one already
    broker.middleware[:] = before
    assert [r for r in caplog.records if "same type twice" in r.getMessage()]
