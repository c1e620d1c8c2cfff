import json
import time

from django.core.management.base import BaseCommand

from images.services.maintenance import reconcile


class Command(BaseCommand):
    help = (
        "Self-healing: re-enqueue stuck images, expire uploads that never received bytes, "
        "remove orphaned objects. Run it from cron, or with --loop as a scheduler process; "
        "running two at once is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Run forever.")
        parser.add_argument("--interval", type=int, default=300, help="Seconds between runs.")

    def handle(self, *args, loop, interval, **options):
        while True:
            report = reconcile()
            self.stdout.write(json.dumps(report.as_dict()))
            if not loop:
                return
            time.sleep(max(interval, 1))
