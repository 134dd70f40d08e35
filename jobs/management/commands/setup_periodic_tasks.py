import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from jobs.schedules import SCHEDULES, Schedule

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


class Command(BaseCommand):
    help = (
        "Install Orderly's periodic tasks (jobs/schedules.py). Idempotent: a schedule that "
        "exists, by name, is left as it is, with any change an operator made in admin."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        installed = []
        for schedule in SCHEDULES:
            if PeriodicTask.objects.filter(name=schedule.name).exists():
                continue  # an operator may have changed it: leave it be
            PeriodicTask.objects.create(name=schedule.name, **self.task_fields(schedule))
            installed.append(schedule.name)
        if options["verbosity"] >= 2:  # one summary line by default (make dev prints it)
            for name in installed:
                self.stdout.write(f"  installed: {name}")
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Periodic tasks: {len(SCHEDULES)} defined, {len(installed)} installed now."
                )
            )

    def task_fields(self, schedule: Schedule) -> dict:
        fields = {
            "task": schedule.task,
            "expire_seconds": schedule.expires_seconds,
            "description": schedule.description,
            "kwargs": json.dumps({}),
        }
        if schedule.every_seconds:
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=schedule.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            timing = {name: schedule.crontab.get(name, "*") for name in CRONTAB_FIELDS}
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                **timing, timezone=settings.TIME_ZONE
            )
        return fields
