"""Alerting: rules over what the monitor knows, a lifecycle with grouping,
inhibition, silences, maintenance and escalation, and delivery through an
outbox to e-mail, Telegram, WhatsApp gateways, webhooks and MQTT.

Modules: ``config`` (the ``alerts:`` section), ``rules`` (defaults and
evaluators), ``manager`` (lifecycle, routing, grouping), ``silences``
(silences and maintenance), ``outbox`` and ``tables`` (state), ``notifiers``,
``messages`` and ``dispatcher`` (delivery), ``service`` (wiring for ``run``).
"""
