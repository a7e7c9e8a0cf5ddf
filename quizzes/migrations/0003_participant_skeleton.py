"""Participant.skeleton: the nickname's confusable skeleton, unique per session.

Existing players get theirs computed; where two players of one session already look alike
(joined before this check existed), the later ones get their id appended, so they keep
playing and nobody new can take a name like theirs."""

from django.db import migrations, models


def fill_skeletons(apps, schema_editor):
    from quizzes.nicknames import nickname_key

    Participant = apps.get_model("quizzes", "Participant")
    seen = set()
    for participant in Participant.objects.order_by("pk").only("pk", "session_id", "nickname").iterator():
        key = nickname_key(participant.nickname)
        if (participant.session_id, key) in seen:
            key = f"{key}#{participant.pk}"
        seen.add((participant.session_id, key))
        Participant.objects.filter(pk=participant.pk).update(skeleton=key)


class Migration(migrations.Migration):

    dependencies = [
        ("quizzes", "0002_quiz_host_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="skeleton",
            field=models.CharField(default="", editable=False, max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(fill_skeletons, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.UniqueConstraint(fields=("session", "skeleton"), name="participant_unique_lookalike"),
        ),
    ]
