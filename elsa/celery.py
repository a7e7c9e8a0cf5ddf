import logging
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elsa.settings")

app = Celery("elsa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def survive_a_lost_broker_connection(**kwargs) -> None:
    """Keep the worker alive when the broker connection drops.

    With Celery 5.7.0 and kombu 5.7.0's Redis transport, closing the lost connection
    raises AttributeError ("'NoneType' object has no attribute 'hostname'") while it
    restores the worker's unacknowledged messages, and the worker exits with
    "Unrecoverable error" instead of reconnecting. During a quiz a worker always holds
    unacknowledged messages (the close_round and advance_session timers wait in it), so
    a broker restart stopped every worker. The connection is already dropped when that
    error escapes; the consumer then reconnects as usual, and the timers the worker held
    are replaced by the sweep (quizzes/tests/test_faults.py, the broker test).
    """
    from celery.worker.consumer import consumer

    original = consumer.Consumer.on_connection_error_after_connected
    if getattr(original, "elsa_survives", False):
        return

    def on_connection_error_after_connected(self, exc):
        try:
            original(self, exc)
        except AttributeError:
            logging.getLogger(__name__).warning(
                "closing the lost broker connection failed; reconnecting anyway", exc_info=True
            )
            self.connection = None

    on_connection_error_after_connected.elsa_survives = True
    consumer.Consumer.on_connection_error_after_connected = on_connection_error_after_connected
