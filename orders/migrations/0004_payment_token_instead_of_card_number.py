"""The card number leaves the database: payments keep the gateway's token, last4 and brand.

Stored numbers are blanked first (an UPDATE the database writes like any
other), then the column is dropped, so no copy of the table made during the
migration (a replica, a backup taken after it) holds one.
"""

from django.db import migrations, models


def blank_card_numbers(apps, schema_editor):
    Payment = apps.get_model("orders", "Payment")
    Payment.objects.exclude(card_number="").update(card_number="")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_payment_reconciliation"),
    ]

    operations = [
        migrations.RunPython(blank_card_numbers, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="payment", name="card_number"),
        migrations.AddField(
            model_name="payment",
            name="payment_method",
            field=models.CharField(blank=True, max_length=80),
        ),
        migrations.AddField(
            model_name="payment",
            name="card_brand",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("payment_method", ""), _negated=True),
                fields=("payment_method",),
                name="payment_method_used_once",
            ),
        ),
    ]
