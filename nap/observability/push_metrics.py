"""Push delivery figures (exporters/push/), read from the database at scrape time like the
harvest figures: the deliveries happen in the worker, the scrape in the API processes."""
from __future__ import annotations

from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nap.store.tables import PushDelivery, PushSubscriber

LAG_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)


def push_metrics(session: Session, now: datetime):
    names = dict(session.execute(select(PushSubscriber.id, PushSubscriber.name)).all())
    deliveries = CounterMetricFamily("nap_push_deliveries", "Push deliveries by subscriber, kind and outcome "
                                     "(the records of the last days)", labels=["subscriber", "kind", "outcome"])
    for subscriber_id, kind, ok, count in session.execute(
            select(PushDelivery.subscriber_id, PushDelivery.kind, PushDelivery.ok, func.count())
            .group_by(PushDelivery.subscriber_id, PushDelivery.kind, PushDelivery.ok)):
        deliveries.add_metric([names.get(subscriber_id, "?"), kind, "ok" if ok else "failed"], count)
    yield deliveries

    lag = HistogramMetricFamily("nap_push_delivery_lag_seconds", "From the oldest change a successful push "
                                "carries to the subscriber's answer", labels=["subscriber"])
    bucket_columns = [func.sum(case((PushDelivery.lag_seconds <= bound, 1), else_=0)) for bound in LAG_BUCKETS]
    for subscriber_id, count, total, *in_buckets in session.execute(
            select(PushDelivery.subscriber_id, func.count(), func.sum(PushDelivery.lag_seconds), *bucket_columns)
            .where(PushDelivery.lag_seconds.is_not(None)).group_by(PushDelivery.subscriber_id)):
        buckets = [(floatToGoString(bound), int(n or 0)) for bound, n in zip(LAG_BUCKETS, in_buckets)]
        buckets.append(("+Inf", count))
        lag.add_metric([names.get(subscriber_id, "?")], buckets, float(total or 0))
    yield lag

    since = GaugeMetricFamily("nap_push_seconds_since_last_success", "Seconds since the subscriber last took a "
                              "push (since its registration when it never did)", labels=["subscriber"])
    for name, last_success, created, enabled in session.execute(
            select(PushSubscriber.name, PushSubscriber.last_success_at, PushSubscriber.created_at,
                   PushSubscriber.enabled)):
        if enabled:
            since.add_metric([name], (now - (last_success or created)).total_seconds())
    yield since
