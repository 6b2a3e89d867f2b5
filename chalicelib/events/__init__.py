"""The Lambda handlers behind the queues and schedules: thin, each body parsed once (``sqs``), then a service.

A handler module imports its services inside the factory or tick that uses them, so each function
imports only the code it runs (the dead-letter consumers, for one, share a module but not a service).
"""
