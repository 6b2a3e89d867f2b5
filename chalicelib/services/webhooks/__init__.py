"""Outbound webhooks: the account's endpoints, and signed deliveries to them (Standard Webhooks)."""
