"""The one list of features. Adding a feature is its folder (with a
``feature.py`` declaring ``FEATURE``, see :mod:`callcenter.feature`) and one
line here. The order is the order routes are matched and features started:
a feature that uses another's client comes after it."""
from __future__ import annotations

import importlib
from pathlib import Path

from callcenter import config
from callcenter.feature import Feature

PACKAGES = [
    "callcenter.spreadsheets",
    "callcenter.trunks",
    "callcenter.org",
    "callcenter.users",
    "callcenter.headcount",
    "callcenter.hrsource",       # the head count pulled from the HR system (after headcount)
    "callcenter.campaigns",
    "callcenter.queues",
    "callcenter.inbound",        # before the customer 360's /customers/{id}: its /customers/new
    "callcenter.customers",
    "callcenter.uploads",
    "callcenter.work",
    "callcenter.dispositions",   # declares the customer 360's routes
    "callcenter.reports",
    "callcenter.notifications",
    "callcenter.complaints",
    "callcenter.webhooks",       # hands on the events the features above record
    "callcenter.report_schedules",  # mailed reports: the reports through the notifications outbox
    "dialer",
    "callcenter.webphone",       # the browser phone mode: its credentials, registrations, the SIP socket
    "callcenter.monitor",        # listen, whisper, barge on the dialer's calls
    "callcenter.board",          # reads the calls, queues, trunks and dispositions above
    "callcenter.audit_trail",    # reads every feature's audit rows
]


def load(packages: list[str] | None = None) -> list[Feature]:
    """Each package's ``feature.FEATURE``, in order."""
    features = []
    for package in PACKAGES if packages is None else packages:
        feature = importlib.import_module(f"{package}.feature").FEATURE
        if not isinstance(feature, Feature):
            raise TypeError(f"{package}.feature.FEATURE is not a Feature")
        features.append(feature)
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise ValueError(f"two features share a name: {names}")
    for feature in features:
        if feature.settings is not None:
            config.register_section(feature.settings)
    return features


def load_settings(path: str | Path) -> config.Settings:
    """The config file, with the sections of every feature checked."""
    load()
    return config.load(path)
