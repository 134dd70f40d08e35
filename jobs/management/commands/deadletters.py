from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jobs.errors import DeadLetterError
from jobs.models import DeadLetter
from jobs.services import dead_letters


class Command(BaseCommand):
    help = "List, requeue or resolve dead letters (tasks that failed for good)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="list dead letters")
        listing.add_argument("--status", choices=DeadLetter.Status.values, default="open")
        for name in ("requeue", "resolve"):
            action = sub.add_parser(name, help=f"{name} dead letters by id")
            action.add_argument("ids", nargs="+", type=int)
            action.add_argument("--user", help="username to record as the actor")
            if name == "resolve":
                action.add_argument("--note", default="")

    def handle(self, *args, action, **options):
        if action == "list":
            return self._list(options["status"])
        actor = None
        if options.get("user"):
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(f"No user {options['user']!r}.")
        failed = 0
        for dead_letter_id in options["ids"]:
            try:
                if action == "requeue":
                    letter = dead_letters.requeue_dead_letter(
                        dead_letter_id=dead_letter_id, actor=actor
                    )
                    self.stdout.write(f"#{dead_letter_id} requeued as {letter.requeued_task_id}")
                else:
                    dead_letters.resolve_dead_letter(
                        dead_letter_id=dead_letter_id, actor=actor, note=options["note"]
                    )
                    self.stdout.write(f"#{dead_letter_id} resolved")
            except DeadLetter.DoesNotExist:
                failed += 1
                self.stderr.write(f"#{dead_letter_id}: no such dead letter")
            except DeadLetterError as error:
                failed += 1
                self.stderr.write(f"#{dead_letter_id}: {error}")
        if failed:
            raise CommandError(f"{failed} of {len(options['ids'])} refused.")

    def _list(self, status):
        rows = DeadLetter.objects.filter(status=status).order_by("-last_failed_at")
        for row in rows:
            self.stdout.write(
                f"#{row.pk}  {row.last_failed_at:%Y-%m-%d %H:%M}  {row.task_name}  "
                f"{row.reference or '-'}  {row.exception_class}: {row.exception_message[:80]}"
            )
        self.stdout.write(f"{rows.count()} {status} dead letter(s).")
