"""Evaluation figures (issue #12): the dashboard's figures over the cards a person may see
(portal.stats.figures), the period and filters (portal.stats.period), visibility across boards
(portal.stats.scope), the pages (portal.stats.controllers) and the JSON API (portal.stats.api)."""
