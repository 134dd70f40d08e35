import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from jobs.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Install Orderly's periodic tasks. Idempotent; keeps operators' edits."

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        for schedule in SCHEDULES:
            if PeriodicTask.objects.filter(name=schedule.name).exists():
                continue
            timing = {}
            if schedule.every_seconds:
                timing["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=schedule.every_seconds, period=IntervalSchedule.SECONDS
                )
            else:
                timing["crontab"], _ = CrontabSchedule.objects.get_or_create(**schedule.crontab)
            PeriodicTask.objects.create(
                name=schedule.name,
                task=schedule.task,
                expire_seconds=schedule.expires_seconds,
                description=schedule.description,
                kwargs=json.dumps({}),
                **timing,
            )
            created += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Periodic tasks: {len(SCHEDULES)} defined, {created} installed now."
            )
        )
