"""Automation: playbooks (files), their durable runs and steps, and the channels they act through."""
