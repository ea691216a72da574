"""Metrics shared by the tasks."""
