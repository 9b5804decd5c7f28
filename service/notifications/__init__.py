"""Notifications: created by hook listeners, listed and marked read by their recipient."""
