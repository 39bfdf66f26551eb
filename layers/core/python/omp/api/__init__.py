"""Glue between HTTP handlers and services that more than one handler shares."""
