import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from images.services.maintenance import reconcile, recover


class Command(BaseCommand):
    help = (
        "Self-healing: re-enqueue stuck jobs, expire uploads that never received bytes, "
        "remove orphaned objects. Run it from cron, or with --loop as the scheduler process "
        "(which also re-sends lost messages and takes over lapsed claims every few seconds); "
        "running two at once is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Run forever.")
        parser.add_argument(
            "--interval", type=int, default=300, help="Seconds between full reconciles."
        )
        parser.add_argument(
            "--recover-interval",
            type=int,
            default=None,
            help="Seconds between recovery steps with --loop (default: "
            "IMGWIRE_RECOVER_INTERVAL_SECONDS; 0: only the full reconcile).",
        )

    def handle(self, *args, loop, interval, recover_interval, **options):
        if recover_interval is None:
            recover_interval = settings.IMGWIRE_RECOVER_INTERVAL_SECONDS
        interval = max(interval, 1)
        while True:
            report = reconcile()
            self.stdout.write(json.dumps(report.as_dict()), ending="\n")
            self.stdout.flush()
            if not loop:
                return
            # Between full runs, the cheap step keeps recovery within seconds.
            next_full = time.monotonic() + interval
            while recover_interval > 0 and time.monotonic() + recover_interval < next_full:
                time.sleep(recover_interval)
                try:
                    recover()
                except Exception:  # the database or broker is away: try again next tick
                    self.stderr.write("recover failed; retrying at the next tick")
            time.sleep(max(next_full - time.monotonic(), 0))
