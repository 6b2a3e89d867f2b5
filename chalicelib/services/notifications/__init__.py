"""Notifications: who hears of an account event and how (in-app, e-mail), grouped bursts, the weekly digest."""
